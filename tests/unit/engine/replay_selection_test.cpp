#include "core/forward_plan.hpp"
#include "core/log/record_writer.hpp"
#include "engine/replay_selection.hpp"

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace rag;

namespace {

// What a test selects: the replay selection's options plus the filters and --to, as
// `rag replay` takes them.
struct Query
{
  std::vector<std::string> ids;
  long long last = 0;
  core::FilterSpec filter;
  std::vector<core::Target> to;
};

engine::ReplaySelectionOptions
selection_options(const Query& query)
{
  engine::ReplaySelectionOptions options;
  options.ids = query.ids;
  options.last = query.last;
  options.original_targets = query.to.empty();
  return options;
}

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
event(const std::string& id, const std::string& method, const std::string& target,
      std::int64_t minute)
{
  core::Event e;
  e.id = id;
  e.time_us = k_t0 + minute * 60'000'000;
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:5000";
  e.method = method;
  e.target = target;
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "127.0.0.1:7777"}};
  e.body = "body of " + id;
  return e;
}

core::Event
event(char c, const std::string& method, const std::string& target, std::int64_t minute)
{
  return event(event_id(c), method, target, minute);
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

Query
options_with(const core::FilterSpec& spec)
{
  Query options;
  options.filter = spec;
  return options;
}

Result<engine::ReplaySelection>
select(const TempLog& log, const Query& options)
{
  auto filter = core::EventFilter::parse(options.filter, k_t0 + 3'600'000'000);
  REQUIRE(filter.ok());
  const core::EventLogReader reader(log.path);
  return engine::select_for_replay(selection_options(options), *filter, reader,
                                   [] { return false; });
}

// Return the ids of the selected events, read back with read_selected.
std::vector<std::string>
ids_of(const TempLog& log, const engine::ReplaySelection& selection)
{
  std::vector<std::string> ids;
  const core::EventLogReader reader(log.path);
  auto found =
      engine::read_selected(reader, selection, [&](core::Event&& e, const engine::ChosenEvent&) {
        ids.push_back(e.id);
        return true;
      });
  REQUIRE(found.ok());
  CHECK(*found == ids.size());
  return ids;
}

std::vector<std::string>
urls_of(const engine::ReplaySelection& selection, std::size_t i)
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
  engine::UrlArena arena;
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
  Query options;
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
  Query options;
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
  Query options;
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
  auto found =
      engine::read_selected(reader, *selection, [&](core::Event&& e, const engine::ChosenEvent&) {
        ids.push_back(e.id);
        return true;
      });
  REQUIRE(found.ok());
  CHECK(*found < 2);
  for (const auto& id : ids) {
    CHECK(id != event_id('B')); // never a different event than the one selected
  }
}

namespace {

// Select `ids` (with --to unless `original_targets`) from the log at `path`,
// collecting the reader's warnings.
Result<engine::ReplaySelection>
select_ids(
    const std::string& path, const std::vector<std::string>& ids,
    std::vector<std::string>* warnings = nullptr, bool original_targets = false,
    const std::function<bool()>& stopped = [] { return false; })
{
  Query options;
  options.ids = ids;
  if (!original_targets) {
    options.to.push_back(*core::parse_target("3000"));
  }
  auto filter = core::EventFilter::parse(options.filter, k_t0);
  REQUIRE(filter.ok());
  const core::EventLogReader reader(path, [&](const std::string& warning) {
    if (warnings != nullptr) {
      warnings->push_back(warning);
    }
  });
  return engine::select_for_replay(selection_options(options), *filter, reader, stopped);
}

// Id number `i` of the many-events log: "evt_02" + 4 digits + 20 'K'.
std::string
many_id(int i)
{
  return fmt::format("evt_02{:04}{}", i, std::string(20, 'K'));
}

} // namespace

TEST_CASE("replay selection: many IDs in one read give exactly find_event's answers")
{
  TempLog log;
  // 50 events; 0500..0502 share the prefix "0205" (ambiguous); 0600..0606 share
  // "0206" (more than five matches: the error counts them).
  std::vector<int> numbers;
  for (int i = 0; i < 40; ++i) {
    numbers.push_back(i * 7);
  }
  for (int i = 500; i < 503; ++i) {
    numbers.push_back(i);
  }
  for (int i = 600; i < 607; ++i) {
    numbers.push_back(i);
  }
  std::int64_t minute = 0;
  for (const int i : numbers) {
    log.add(core::to_json_line(event(many_id(i), "POST", "/m", minute++)));
  }
  const core::EventLogReader reader(log.path);

  // 40 good prefixes in every spelling, given newest first, plus repeats.
  std::vector<std::string> good;
  std::vector<std::string> expected;
  for (int n = 39; n >= 0; --n) {
    const std::string id = many_id(n * 7);
    std::string rest = id.substr(4, 6 + static_cast<std::size_t>(n % 20));
    if (n % 3 == 1) {
      std::transform(rest.begin(), rest.end(), rest.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    good.push_back(n % 2 == 0 ? "evt_" + rest : rest);
    if (n % 10 == 0) {
      good.push_back(id); // the same event again, by its full id
    }
  }
  for (int n = 0; n < 40; ++n) {
    expected.push_back(many_id(n * 7));
  }
  auto all = select_ids(log.path, good);
  REQUIRE(all.ok());
  CHECK(ids_of(log, *all) == expected); // capture order, each event once

  const std::string unknown = "0299";
  const std::string ambiguous = "0205";
  const std::string crowded = "evt_0206";
  for (const auto& bad : {unknown, ambiguous, crowded, std::string("evt_")}) {
    CAPTURE(bad);
    const auto alone = reader.find_event(bad);
    REQUIRE_FALSE(alone.ok());
    // The bad prefix among the good ones, wherever it stands, gives its own error.
    for (const std::size_t at : {std::size_t{0}, std::size_t{17}, good.size()}) {
      CAPTURE(at);
      auto ids = good;
      ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(at), bad);
      const auto selection = select_ids(log.path, ids);
      REQUIRE_FALSE(selection.ok());
      CHECK(selection.error().message == alone.error().message);
      CHECK(selection.error().hint == alone.error().hint);
      CHECK(selection.error().exit_code == alone.error().exit_code);
    }
  }
  CHECK(reader.find_event(crowded).error().message.find("(7 matches)") != std::string::npos);

  // Several bad prefixes: the first in the order given wins, as one find_event per
  // prefix in that order would have it.
  auto ids = good;
  ids.insert(ids.begin() + 5, ambiguous);
  ids.insert(ids.begin() + 20, unknown);
  auto selection = select_ids(log.path, ids);
  REQUIRE_FALSE(selection.ok());
  CHECK(selection.error().message == reader.find_event(ambiguous).error().message);
  ids = good;
  ids.insert(ids.begin() + 5, unknown);
  ids.insert(ids.begin() + 20, "evt_");
  ids.push_back(ambiguous);
  selection = select_ids(log.path, ids);
  REQUIRE_FALSE(selection.ok());
  CHECK(selection.error().message == reader.find_event(unknown).error().message);
  CHECK(selection.error().exit_code == 1);
}

TEST_CASE("replay selection: an event logged twice is replayed once, with or without --to")
{
  TempLog log;
  write_sample(log);
  log.add(core::to_json_line(event('B', "PUT", "/b", 1))); // an import of an import
  for (const bool original_targets : {false, true}) {
    CAPTURE(original_targets);
    auto selection = select_ids(log.path, {"01bbb", "01DDD"}, nullptr, original_targets);
    REQUIRE(selection.ok());
    CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('B'), event_id('D')});
  }
}

TEST_CASE("replay selection: a bad line that every ID matches is read and reported once")
{
  TempLog log;
  write_sample(log);
  // A damaged copy of C: valid JSON, but its body no longer matches body_sha256.
  std::string damaged = core::to_json_line(event('C', "POST", "/c", 2));
  const std::string body = "\"body\":\"body of " + event_id('C') + "\"";
  REQUIRE(damaged.find(body) != std::string::npos);
  damaged.replace(damaged.find(body), body.size(), "\"body\":\"body of someone else\"");
  log.add(damaged);

  std::vector<std::string> warnings;
  auto selection = select_ids(log.path, {"01CC", "evt_01cccc", event_id('C'), "01AAA"}, &warnings);
  REQUIRE(selection.ok());
  CHECK(ids_of(log, *selection) == std::vector<std::string>{event_id('A'), event_id('C')});
  // One read of the log: one warning, not one per ID plus one for the selection.
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("skipped corrupt line") != std::string::npos);
}

TEST_CASE("replay selection: Ctrl-C cuts a read for IDs short without an error")
{
  TempLog log;
  {
    std::ofstream out(log.path);
    for (int i = 0; i < 9000; ++i) {
      out << core::to_json_line(event(many_id(i), "POST", "/m", i)) << '\n';
    }
  }
  // The only match is the last line: a read that stopped never reaches it, and the
  // interruption is not reported as "no event matches".
  auto selection = select_ids(log.path, {many_id(8999)}, nullptr, false, [] { return true; });
  REQUIRE(selection.ok());
  CHECK(selection->events.empty());
  selection = select_ids(log.path, {many_id(8999)});
  REQUIRE(selection.ok());
  CHECK(selection->events.size() == 1);
}
