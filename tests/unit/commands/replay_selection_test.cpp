#include "commands/replay_selection.hpp"
#include "core/record_json.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace rag;

namespace {

constexpr std::int64_t k_t0 = 1'700'000'000'000'000;

struct TempLog
{
  std::string dir;
  std::string path;
  TempLog()
  {
    char tmpl[] = "/tmp/rag-replay-select-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/events.jsonl";
  }
  ~TempLog() { std::filesystem::remove_all(dir); }

  void add(const std::string& line)
  {
    std::ofstream out(path, std::ios::app);
    out << line << '\n';
  }
};

// Ids as rag makes them: "evt_" + 26 Crockford base32 characters.
std::string
event_id(char c)
{
  return "evt_01" + std::string(24, c);
}

core::Event
event(char c, const std::string& method, const std::string& target, std::int64_t minute)
{
  core::Event e;
  e.id = event_id(c);
  e.time_us = k_t0 + minute * 60'000'000;
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:5000";
  e.method = method;
  e.target = target;
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "127.0.0.1:7777"}};
  e.body = std::string("body of ") + c;
  return e;
}

core::Delivery
delivery(char c, const std::string& url, int status, int attempt = 1, bool replay = false)
{
  static int n = 0;
  core::Delivery d;
  d.id = "dlv_01" + std::string(20, 'D') + std::to_string(100000 + ++n);
  d.event_id = event_id(c);
  d.time_us = k_t0;
  d.target = url;
  d.attempt = attempt;
  d.replay = replay;
  d.status = status;
  if (status == 0) {
    d.error = "connection refused";
  }
  return d;
}

// A log of four events: A (POST /a) to two targets, with a retry and a replay; B (PUT
// /b) failed at one target; C (POST /c) never delivered; D (PUT /d) to one target.
void
write_sample(TempLog& log)
{
  log.add(core::to_json_line(event('A', "POST", "/a?x=1", 0)));
  log.add(core::to_json_line(event('B', "PUT", "/b", 1)));
  log.add(core::to_json_line(delivery('A', "http://h:1/a?x=1", 500)));
  log.add(core::to_json_line(delivery('A', "http://h:2/in?x=1", 200)));
  log.add(core::to_json_line(delivery('B', "http://h:1/b", 0)));
  log.add(core::to_json_line(delivery('A', "http://h:1/a?x=1", 200, 2))); // retry
  log.add(core::to_json_line(event('C', "POST", "/c", 2)));
  log.add(core::to_json_line(delivery('A', "http://other:9/a?x=1", 200, 1, true))); // replay
  log.add(core::to_json_line(event('D', "PUT", "/d", 3)));
  log.add(core::to_json_line(delivery('D', "http://h:1/d", 201)));
}

commands::ReplayOptions
options_with(const core::FilterSpec& spec)
{
  commands::ReplayOptions options;
  options.filter = spec;
  return options;
}

Result<commands::ReplaySelection>
select(const TempLog& log, const commands::ReplayOptions& options)
{
  auto filter = core::EventFilter::parse(options.filter, k_t0 + 3'600'000'000);
  REQUIRE(filter.ok());
  const core::EventLogReader reader(log.path);
  return commands::select_for_replay(options, *filter, reader, [] { return false; });
}

// Return the ids of the selected events, read back with read_selected.
std::vector<std::string>
ids_of(const TempLog& log, const commands::ReplaySelection& selection)
{
  std::vector<std::string> ids;
  const core::EventLogReader reader(log.path);
  auto found = commands::read_selected(reader, selection,
                                       [&](core::Event&& e, const commands::ChosenEvent&) {
                                         ids.push_back(e.id);
                                         return true;
                                       });
  REQUIRE(found.ok());
  CHECK(*found == ids.size());
  return ids;
}

std::vector<std::string>
urls_of(const commands::ReplaySelection& selection, std::size_t i)
{
  std::vector<std::string> urls;
  for (const auto url : selection.urls.list(selection.events.at(i).targets)) {
    urls.emplace_back(url);
  }
  return urls;
}

} // namespace

TEST_CASE("replay selection: UrlArena keeps distinct URLs per list, in the order added")
{
  commands::UrlArena arena;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  a = arena.add(a, "http://x/1");
  b = arena.add(b, "http://x/1");
  a = arena.add(a, "http://y/2");
  a = arena.add(a, "http://x/1"); // already in a
  CHECK(arena.list(a) == std::vector<std::string_view>{"http://x/1", "http://y/2"});
  CHECK(arena.list(b) == std::vector<std::string_view>{"http://x/1"});
  CHECK(arena.list(0).empty());
}

TEST_CASE("replay selection: a filter selects in capture order with the original targets")
{
  TempLog log;
  write_sample(log);
  core::FilterSpec spec;
  spec.method = "put";
  auto selection = select(log, options_with(spec));
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('B'), event_id('D')});
  CHECK(urls_of(*selection, 0) == std::vector<std::string>{"http://h:1/b"});
  CHECK(urls_of(*selection, 1) == std::vector<std::string>{"http://h:1/d"});
  CHECK(selection->untargeted_count == 0);

  spec.method = "POST";
  selection = select(log, options_with(spec));
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('A'), event_id('C')});
  // First attempts only, not the replay to other:9; in the order of first delivery.
  CHECK(urls_of(*selection, 0) ==
        std::vector<std::string>{"http://h:1/a?x=1", "http://h:2/in?x=1"});
  CHECK(selection->untargeted_count == 1);
  CHECK(selection->untargeted == std::vector<std::string>{event_id('C')});
}

TEST_CASE("replay selection: --status failed keeps events whose latest attempt failed")
{
  TempLog log;
  write_sample(log);
  core::FilterSpec spec;
  spec.status = "failed";
  auto selection = select(log, options_with(spec));
  REQUIRE(selection.ok());
  // A's 500 at h:1 was retried with success; B's refusal was not.
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('B')});
}

TEST_CASE("replay selection: --last N reads from the end and keeps capture order")
{
  TempLog log;
  write_sample(log);
  commands::ReplayOptions options;
  options.last = 3;
  auto selection = select(log, options);
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) ==
        std::vector<std::string>{event_id('B'), event_id('C'), event_id('D')});
  CHECK(urls_of(*selection, 0) == std::vector<std::string>{"http://h:1/b"});
  CHECK(selection->untargeted == std::vector<std::string>{event_id('C')});

  options.last = 2;
  options.filter.method = "POST";
  selection = select(log, options);
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('A'), event_id('C')});
  CHECK(urls_of(*selection, 0) ==
        std::vector<std::string>{"http://h:1/a?x=1", "http://h:2/in?x=1"});
}

TEST_CASE("replay selection: with --to no targets are collected and none are missing")
{
  TempLog log;
  write_sample(log);
  commands::ReplayOptions options;
  options.filter.since = "2h";
  options.to.push_back(*core::parse_target("3000"));
  auto selection = select(log, options);
  REQUIRE(selection.ok());
  CHECK(selection->events.size() == 4);
  CHECK(selection->untargeted_count == 0);
  for (const auto& chosen : selection->events) {
    CHECK(chosen.targets == 0);
  }
}

TEST_CASE("replay selection: IDs are unique prefixes, replayed in capture order")
{
  TempLog log;
  write_sample(log);
  commands::ReplayOptions options;
  options.ids = {"evt_01DDD", "01bbbb", event_id('D')}; // any case, "evt_" optional
  auto selection = select(log, options);
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('B'), event_id('D')});

  options.ids = {"01"};
  selection = select(log, options);
  REQUIRE_FALSE(selection.ok());
  CHECK(selection.error().message.find("ambiguous") != std::string::npos);
  options.ids = {"evt_01ZZZ"};
  selection = select(log, options);
  REQUIRE_FALSE(selection.ok());
  CHECK(selection.error().exit_code == 1);
}

TEST_CASE("replay selection: read_selected skips events that left the log meanwhile")
{
  TempLog log;
  write_sample(log);
  core::FilterSpec spec;
  spec.method = "PUT";
  auto selection = select(log, options_with(spec));
  REQUIRE(selection.ok());
  REQUIRE(selection->events.size() == 2);

  // Rewrite the log without B's line (as a prune would): offsets no longer match.
  std::vector<std::string> lines;
  {
    std::ifstream in(log.path);
    for (std::string line; std::getline(in, line);) {
      if (line.find(event_id('B')) == std::string::npos ||
          line.find("\"delivery\"") != std::string::npos) {
        lines.push_back(line);
      }
    }
  }
  std::filesystem::remove(log.path);
  for (const auto& line : lines) {
    log.add(line);
  }
  std::vector<std::string> ids;
  const core::EventLogReader reader(log.path);
  auto found = commands::read_selected(reader, *selection,
                                       [&](core::Event&& e, const commands::ChosenEvent&) {
                                         ids.push_back(e.id);
                                         return true;
                                       });
  REQUIRE(found.ok());
  CHECK(*found < 2);
  for (const auto& id : ids) {
    CHECK(id != event_id('B')); // never a different event than the one selected
  }
}
