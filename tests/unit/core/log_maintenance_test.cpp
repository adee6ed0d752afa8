#include "core/log_maintenance.hpp"

#include "core/event_log.hpp"
#include "core/record_json.hpp"
#include "util/bytes.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;

namespace {

using rag::test::TempDir;

std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void
write_file(const std::string& path, const std::string& data)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string
event_id(int n)
{
  return fmt::format("evt_{:026}", n);
}

Event
make_event(int n, std::int64_t time_us = 1'700'000'000'000'000, std::string method = "POST",
           std::string target = "/hook")
{
  Event event;
  event.id = event_id(n);
  event.time_us = time_us;
  event.source = "listen:127.0.0.1:7777";
  event.remote = "127.0.0.1:50000";
  event.method = std::move(method);
  event.target = std::move(target);
  event.http_version = "HTTP/1.1";
  event.headers = {{"Host", "127.0.0.1:7777"}};
  event.body = fmt::format("{{\"n\":{}}}", n);
  return event;
}

Delivery
make_delivery(int n, int event_n, int status = 200, bool replay = false)
{
  Delivery delivery;
  delivery.id = fmt::format("dlv_{:026}", n);
  delivery.event_id = event_id(event_n);
  delivery.time_us = 1'700'000'000'000'000;
  delivery.target = "http://127.0.0.1:3000/hook";
  delivery.replay = replay;
  delivery.status = status;
  if (status == 0) {
    delivery.error = "connection refused";
  }
  return delivery;
}

// A LineSource over lines held in memory.
LineSource
memory_lines(const std::vector<std::string>& lines)
{
  return [&lines](
             const std::function<void(std::uint64_t, std::string_view)>& fn) -> rag::Result<void> {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      fn(i, lines[i]);
    }
    return {};
  };
}

std::string
join_lines(const std::vector<std::string>& lines)
{
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

} // namespace

TEST_CASE("log_maintenance: FrequencyCounter is exact up to its capacity")
{
  FrequencyCounter counter(3);
  for (const char* key : {"b", "a", "b", "c", "a", "b"}) {
    counter.add(key);
  }
  const auto top = counter.top(10);
  REQUIRE(top.size() == 3);
  CHECK(top[0].name == "b");
  CHECK(top[0].count == 3);
  CHECK(top[1].name == "a");
  CHECK(top[1].count == 2);
  CHECK(top[2].name == "c");
  CHECK(counter.exact());
  CHECK(counter.top(1).size() == 1);

  // Ties are listed in byte order.
  FrequencyCounter ties(10);
  for (const char* key : {"z", "m", "a"}) {
    ties.add(key);
  }
  const auto tied = ties.top(3);
  CHECK(tied[0].name == "a");
  CHECK(tied[2].name == "z");
}

TEST_CASE("log_maintenance: FrequencyCounter keeps a heavy key in bounded memory")
{
  FrequencyCounter counter(8);
  for (int i = 0; i < 1000; ++i) {
    counter.add("/hot");
    counter.add(fmt::format("/cold/{}", i));
  }
  CHECK_FALSE(counter.exact());
  const auto top = counter.top(100);
  CHECK(top.size() <= 8);
  REQUIRE_FALSE(top.empty());
  CHECK(top[0].name == "/hot");
  CHECK(top[0].count <= 1000); // an under-estimate, never more

  FrequencyCounter cut(2);
  cut.add(std::string(1000, 'x'));
  CHECK(cut.top(1)[0].name.size() == 256);
}

TEST_CASE("log_maintenance: IdSet holds short and long ids")
{
  IdSet ids;
  CHECK(ids.insert(event_id(1)));
  CHECK_FALSE(ids.insert(event_id(1)));
  CHECK(ids.insert("evt_1"));
  const std::string long_id = "evt_" + std::string(40, 'A');
  CHECK(ids.insert(long_id));
  CHECK_FALSE(ids.insert(long_id));
  CHECK(ids.contains(event_id(1)));
  CHECK(ids.contains("evt_1"));
  CHECK(ids.contains(long_id));
  CHECK_FALSE(ids.contains(event_id(2)));
  CHECK_FALSE(ids.contains("evt_"));
  CHECK_FALSE(ids.contains(long_id + "B"));
  // A 31-byte id is the longest compact one; 32 bytes goes to the other set.
  CHECK(ids.insert(std::string(31, 'q')));
  CHECK(ids.insert(std::string(32, 'q')));
  CHECK(ids.contains(std::string(31, 'q')));
  CHECK(ids.contains(std::string(32, 'q')));
  CHECK(ids.size() == 5);
}

TEST_CASE("log_maintenance: LogStatsBuilder counts records, times, methods, paths, statuses")
{
  LogStatsBuilder builder;
  builder.add(make_event(1, 300, "POST", "/github?x=1"));
  builder.add(make_event(2, 100, "GET", "/stripe"));
  builder.add(make_event(3, 200, "POST", "/github"));
  builder.add(make_delivery(1, 1, 200));
  builder.add(make_delivery(2, 1, 204, true));
  builder.add(make_delivery(3, 2, 0));
  builder.add(make_delivery(4, 2, 302));
  builder.add(make_delivery(5, 2, 404));
  builder.add(make_delivery(6, 2, 500));
  builder.add(make_delivery(7, 2, 100));
  builder.add(make_delivery(8, 2, 999)); // not HTTP: counted as failed
  builder.add_bad_line();
  const LogStats stats = builder.finish(1);

  CHECK(stats.lines == 12);
  CHECK(stats.events == 3);
  CHECK(stats.deliveries == 8);
  CHECK(stats.replays == 1);
  CHECK(stats.bad_lines == 1);
  CHECK(stats.oldest_us == 100);
  CHECK(stats.newest_us == 300);
  REQUIRE(stats.methods.size() == 2);
  CHECK(stats.methods[0].name == "POST");
  CHECK(stats.methods[0].count == 2);
  REQUIRE(stats.top_paths.size() == 1);
  CHECK(stats.top_paths[0].name == "/github");
  CHECK(stats.top_paths[0].count == 2);
  CHECK(stats.statuses.informational == 1);
  CHECK(stats.statuses.success == 2);
  CHECK(stats.statuses.redirection == 1);
  CHECK(stats.statuses.client_error == 1);
  CHECK(stats.statuses.server_error == 1);
  CHECK(stats.statuses.failed == 2);
  CHECK_FALSE(stats.approximate);

  const std::string json = to_json_line(stats, "/x/events.jsonl");
  CHECK(json.find(R"({"path":"/x/events.jsonl","exists":false,"size":0,"lines":12,"events":3,)"
                  R"("deliveries":8,"replays":1,"bad_lines":1,)") == 0);
  CHECK(json.find(R"("methods":{"POST":2,"GET":1})") != std::string::npos);
  CHECK(json.find(R"("paths":[{"path":"/github","events":2}])") != std::string::npos);
  CHECK(json.find(R"("statuses":{"1xx":1,"2xx":2,"3xx":1,"4xx":1,"5xx":1,"error":2})") !=
        std::string::npos);
  CHECK(json.find(R"("oldest":"1970-01-01T00:00:00.000100Z")") != std::string::npos);
}

TEST_CASE("log_maintenance: empty stats have null times, and odd bytes stay valid JSON")
{
  const LogStats empty = LogStatsBuilder().finish();
  const std::string json = to_json_line(empty, "p");
  CHECK(json.find(R"("oldest":null,"newest":null)") != std::string::npos);

  LogStatsBuilder builder;
  builder.add(make_event(1, 1, "POST", std::string("/\xff\x01?q")));
  const std::string odd = to_json_line(builder.finish(), "p");
  CHECK(rag::util::is_valid_utf8(odd));
  CHECK(odd.find(R"(\u0001)") != std::string::npos);
}

TEST_CASE("log_maintenance: LogVerifier reports bad lines and warnings by line number")
{
  std::vector<LogProblem> problems;
  LogVerifier verifier([&](const LogProblem& problem) { problems.push_back(problem); });
  verifier.line(1, to_json_line(make_event(1)));
  verifier.line(2, "{not json");
  verifier.line(3, to_json_line(make_delivery(1, 1)));
  verifier.line(4, to_json_line(make_delivery(2, 7))); // its event is not earlier
  verifier.line(5, to_json_line(make_event(1)));       // the same id again
  verifier.line(6, R"({"v":2,"kind":"event"})");
  verifier.torn_tail(7, 12);

  REQUIRE(problems.size() == 5);
  CHECK(format_problem(problems[0]) == "2: not valid JSON");
  CHECK(format_problem(problems[1]) ==
        fmt::format("4: warning: delivery {} is for event {}, which is not earlier in the log",
                    make_delivery(2, 7).id, event_id(7)));
  CHECK(problems[2].line == 5);
  CHECK(problems[2].warning);
  CHECK(format_problem(problems[3]) == "6: unsupported record version 2");
  CHECK(format_problem(problems[4]) == "7: torn last line (12 bytes, no newline)");
  CHECK(to_json_line(problems[4]) ==
        R"J({"line":7,"severity":"error","reason":"torn last line (12 bytes, no newline)"})J");

  const VerifySummary& summary = verifier.summary();
  CHECK(summary.lines == 7);
  CHECK(summary.events == 2);
  CHECK(summary.deliveries == 2);
  CHECK(summary.bad_lines == 3);
  CHECK(summary.warnings == 2);
}

TEST_CASE("log_maintenance: a problem's reason cannot reach the terminal raw")
{
  const LogProblem problem{3, false, "unknown record kind '\x1b[31mred'"};
  CHECK(format_problem(problem).find('\x1b') == std::string::npos);
}

TEST_CASE("log_maintenance: verify_log and collect_log_stats read a file with a torn tail")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string good = to_json_line(make_event(1));
  write_file(path, good + "\ngarbage\n" + good.substr(0, 10));

  std::vector<LogProblem> problems;
  auto summary = verify_log(path, [&](const LogProblem& p) { problems.push_back(p); });
  REQUIRE(summary);
  CHECK(summary->exists);
  CHECK(summary->size == good.size() + 9 + 10);
  CHECK(summary->lines == 3);
  CHECK(summary->events == 1);
  CHECK(summary->bad_lines == 2);
  REQUIRE(problems.size() == 2);
  CHECK(format_problem(problems[0]) == "2: not valid JSON");
  CHECK(format_problem(problems[1]) == "3: torn last line (10 bytes, no newline)");

  auto stats = collect_log_stats(path);
  REQUIRE(stats);
  CHECK(stats->exists);
  CHECK(stats->lines == 3);
  CHECK(stats->events == 1);
  CHECK(stats->bad_lines == 2);

  // A missing log is empty and clean.
  auto missing = verify_log(dir.file("none.jsonl"), {});
  REQUIRE(missing);
  CHECK_FALSE(missing->exists);
  CHECK(missing->lines == 0);
  auto missing_stats = collect_log_stats(dir.file("none.jsonl"));
  REQUIRE(missing_stats);
  CHECK_FALSE(missing_stats->exists);
}

TEST_CASE("log_maintenance: scan_lines reports the tail and numbers the lines")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  write_file(path, "a\nbb\nccc");
  std::vector<std::uint64_t> numbers;
  auto scan = EventLogReader(path).scan_lines([&](const LogLine& line) {
    numbers.push_back(line.number);
    return true;
  });
  REQUIRE(scan);
  CHECK(numbers == std::vector<std::uint64_t>{1, 2});
  CHECK(scan->exists);
  CHECK(scan->size == 8);
  CHECK(scan->lines == 2);
  CHECK(scan->end_offset == 5);
  CHECK(scan->tail_bytes == 3);
  CHECK(scan->tail_torn);

  write_file(path, "a\nbb\n");
  scan = EventLogReader(path).scan_lines([](const LogLine&) { return true; });
  REQUIRE(scan);
  CHECK(scan->tail_bytes == 0);
  CHECK_FALSE(scan->tail_torn);

  // Stopping early reports no tail.
  write_file(path, "a\nbb\nccc");
  scan = EventLogReader(path).scan_lines([](const LogLine&) { return false; });
  REQUIRE(scan);
  CHECK(scan->lines == 1);
  CHECK(scan->tail_bytes == 0);

  scan = EventLogReader(dir.file("missing")).scan_lines([](const LogLine&) { return true; });
  REQUIRE(scan);
  CHECK_FALSE(scan->exists);
}

TEST_CASE("log_maintenance: describe_default_log_path names the variable that applied")
{
  const char* old_state = std::getenv("XDG_STATE_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_state = old_state != nullptr ? old_state : "";
  const std::string saved_home = old_home != nullptr ? old_home : "";

  ::setenv("XDG_STATE_HOME", "/state", 1);
  CHECK(describe_default_log_path() == "$XDG_STATE_HOME/rag/events.jsonl");
  ::setenv("HOME", "/home/dev", 1);
  ::setenv("XDG_STATE_HOME", "relative", 1);
  CHECK(describe_default_log_path() ==
        "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME is ignored: not an absolute path)");
  ::unsetenv("XDG_STATE_HOME");
  CHECK(describe_default_log_path() ==
        "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME is not set)");
  CHECK(default_log_path() == "/home/dev/.local/state/rag/events.jsonl");
  ::unsetenv("HOME");
  CHECK(describe_default_log_path().find("HOME is not set") != std::string::npos);

  if (old_state != nullptr) {
    ::setenv("XDG_STATE_HOME", saved_state.c_str(), 1);
  }
  if (old_home != nullptr) {
    ::setenv("HOME", saved_home.c_str(), 1);
  }
}

TEST_CASE("log_maintenance: PrunePlan --keep N removes older events and all their deliveries")
{
  const std::vector<std::string> lines = {
      to_json_line(make_delivery(90, 3)), // before its event (hand-edited log): goes with it
      to_json_line(make_event(1)),
      to_json_line(make_delivery(1, 1)),
      "bad line",
      to_json_line(make_event(2)),
      to_json_line(make_delivery(2, 2)),
      to_json_line(make_event(3)),
      to_json_line(make_delivery(3, 3)),
      to_json_line(make_delivery(4, 1, 200, true)), // a replay of event 1, late in the log
      to_json_line(make_delivery(5, 42)),           // its event is not in the log
  };
  auto plan = PrunePlan::make(memory_lines(lines), PrunePolicy{1, std::nullopt});
  REQUIRE(plan);
  REQUIRE(plan->lines() == lines.size());
  const std::vector<bool> removed = {false, true,  true,  false, true,
                                     true,  false, false, true,  false};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK_MESSAGE(plan->removes(i) == removed[i], "line ", i);
  }
  const PruneReport& report = plan->report();
  CHECK(report.events_removed == 2);
  CHECK(report.events_kept == 1);
  CHECK(report.deliveries_removed == 3);
  CHECK(report.deliveries_kept == 3);
  CHECK(report.bad_lines_kept == 1);
  std::uint64_t bytes = 0;
  std::uint64_t removed_bytes = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bytes += lines[i].size() + 1;
    removed_bytes += removed[i] ? lines[i].size() + 1 : 0;
  }
  CHECK(plan->planned_bytes() == bytes);
  CHECK(plan->removed_bytes() == removed_bytes);

  // Appended after planning: events stay under --keep; deliveries follow their event.
  CHECK_FALSE(plan->removes_appended(to_json_line(make_event(4))));
  CHECK(plan->removes_appended(to_json_line(make_delivery(6, 2))));
  CHECK_FALSE(plan->removes_appended(to_json_line(make_delivery(7, 4))));
  CHECK_FALSE(plan->removes_appended("still bad"));
  CHECK(plan->report().events_kept == 2);
  CHECK(plan->report().deliveries_removed == 4);
  CHECK(plan->report().deliveries_kept == 4);
  CHECK(plan->report().bad_lines_kept == 2);
}

TEST_CASE("log_maintenance: PrunePlan --keep more than there is, and --keep 0")
{
  const std::vector<std::string> lines = {to_json_line(make_event(1)),
                                          to_json_line(make_delivery(1, 1))};
  auto all = PrunePlan::make(memory_lines(lines), PrunePolicy{5, std::nullopt});
  REQUIRE(all);
  CHECK_FALSE(all->removes(0));
  CHECK_FALSE(all->removes(1));
  CHECK(all->report().events_removed == 0);

  auto none = PrunePlan::make(memory_lines(lines), PrunePolicy{0, std::nullopt});
  REQUIRE(none);
  CHECK(none->removes(0));
  CHECK(none->removes(1));
  CHECK_FALSE(none->removes(2)); // out of range
}

TEST_CASE("log_maintenance: PrunePlan --older-than judges events by their time")
{
  const std::vector<std::string> lines = {
      to_json_line(make_event(1, 1000)), to_json_line(make_delivery(1, 1)),
      to_json_line(make_event(2, 3000)), to_json_line(make_delivery(2, 2)),
      to_json_line(make_event(3, 500)), // imported: old, but late in the log
      to_json_line(make_delivery(3, 3)),
  };
  auto plan = PrunePlan::make(memory_lines(lines), PrunePolicy{std::nullopt, 2000});
  REQUIRE(plan);
  const std::vector<bool> removed = {true, true, false, false, true, true};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK_MESSAGE(plan->removes(i) == removed[i], "line ", i);
  }
  CHECK(plan->report().events_removed == 2);
  CHECK(plan->report().events_kept == 1);
  // An old event appended after the plan goes too, with its delivery.
  CHECK(plan->removes_appended(to_json_line(make_event(4, 1999))));
  CHECK(plan->removes_appended(to_json_line(make_delivery(4, 4))));
  CHECK_FALSE(plan->removes_appended(to_json_line(make_event(5, 2000))));
}

TEST_CASE("log_maintenance: PrunePlan notices lines that changed between passes")
{
  std::vector<std::string> lines = {to_json_line(make_event(1)), to_json_line(make_event(2))};
  int pass = 0;
  const LineSource changing =
      [&](const std::function<void(std::uint64_t, std::string_view)>& fn) -> rag::Result<void> {
    ++pass;
    fn(0, pass == 1 ? lines[0] : std::string("replaced"));
    fn(1, lines[1]);
    return {};
  };
  auto plan = PrunePlan::make(changing, PrunePolicy{1, std::nullopt});
  REQUIRE_FALSE(plan);
  CHECK(plan.error().message.find("changed while being read") != std::string::npos);
}

TEST_CASE("log_maintenance: prune_log rewrites the file and a writer follows the new one")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  std::vector<std::string> lines;
  for (int n = 1; n <= 5; ++n) {
    lines.push_back(to_json_line(make_event(n)));
    lines.push_back(to_json_line(make_delivery(n, n)));
  }
  write_file(path, join_lines(lines));
  ::chmod(path.c_str(), 0644);
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer);

  // A dry run counts and changes nothing.
  auto dry = prune_log(path, PrunePolicy{2, std::nullopt}, true, [] { FAIL("locked"); });
  REQUIRE(dry);
  CHECK(dry->exists);
  CHECK_FALSE(dry->rewritten);
  CHECK(dry->events_removed == 3);
  CHECK(read_file(path) == join_lines(lines));

  int locked = 0;
  auto report = prune_log(path, PrunePolicy{2, std::nullopt}, false, [&] { ++locked; });
  REQUIRE(report);
  CHECK(locked == 1);
  CHECK(report->rewritten);
  CHECK(report->events_removed == 3);
  CHECK(report->deliveries_removed == 3);
  CHECK(report->events_kept == 2);
  CHECK(report->deliveries_kept == 2);
  CHECK(report->size_before == join_lines(lines).size());
  const std::vector<std::string> kept(lines.begin() + 6, lines.end());
  CHECK(report->size_after == join_lines(kept).size());
  CHECK(read_file(path) == join_lines(kept));
  struct stat st
  {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);

  // The writer opened before the prune appends to the new file.
  const std::string late = to_json_line(make_event(6));
  REQUIRE(writer->append(late));
  CHECK(read_file(path) == join_lines(kept) + late + "\n");

  // Nothing to remove: the same file stays.
  struct stat before
  {};
  REQUIRE(::stat(path.c_str(), &before) == 0);
  auto nothing = prune_log(path, PrunePolicy{10, std::nullopt}, false);
  REQUIRE(nothing);
  CHECK_FALSE(nothing->rewritten);
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(st.st_ino == before.st_ino);
}

TEST_CASE("log_maintenance: prune_log drops a torn tail, keeps bad lines, follows a symlink")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string e1 = to_json_line(make_event(1));
  const std::string e2 = to_json_line(make_event(2));
  write_file(path, e1 + "\nbad\n" + e2 + "\n" + e2.substr(0, 7));
  const auto link = dir.file("link.jsonl");
  REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);

  auto report = prune_log(link, PrunePolicy{1, std::nullopt}, false);
  REQUIRE(report);
  CHECK(report->rewritten);
  CHECK(report->torn_tail_bytes == 7);
  CHECK(report->bad_lines_kept == 1);
  CHECK(read_file(path) == "bad\n" + e2 + "\n");
  CHECK(std::filesystem::is_symlink(link));
}

TEST_CASE("log_maintenance: prune_log of a missing log, and a policy must be one of two")
{
  TempDir dir;
  auto missing = prune_log(dir.file("none.jsonl"), PrunePolicy{1, std::nullopt}, false);
  REQUIRE(missing);
  CHECK_FALSE(missing->exists);
  CHECK_FALSE(std::filesystem::exists(dir.file("none.jsonl")));

  auto neither = prune_log(dir.file("none.jsonl"), PrunePolicy{}, false);
  REQUIRE_FALSE(neither);
  CHECK(neither.error().exit_code == 2);
  auto both = prune_log(dir.file("none.jsonl"), PrunePolicy{1, 5}, false);
  REQUIRE_FALSE(both);
  CHECK(both.error().exit_code == 2);
}

TEST_CASE("log_maintenance: the prune report as JSON")
{
  PruneReport report;
  report.exists = true;
  report.rewritten = true;
  report.events_removed = 3;
  report.size_before = 100;
  report.size_after = 40;
  CHECK(to_json_line(report, false) ==
        R"({"dry_run":false,"rewritten":true,"events_removed":3,"events_kept":0,)"
        R"("deliveries_removed":0,"deliveries_kept":0,"bad_lines_kept":0,"torn_tail_bytes":0,)"
        R"("size_before":100,"size_after":40})");
}
