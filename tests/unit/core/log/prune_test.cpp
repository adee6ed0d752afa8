#include "core/log/prune.hpp"

#include "core/log/record_writer.hpp"
#include "core/log/writer.hpp"

#include "support/fifo.hpp"
#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

namespace {

using rag::test::TempDir;

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

TEST_CASE("prune: PrunePlan --keep N removes older events and all their deliveries")
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

TEST_CASE("prune: PrunePlan --keep more than there is, and --keep 0")
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

TEST_CASE("prune: PrunePlan --older-than judges events by their time")
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

TEST_CASE("prune: PrunePlan notices lines that changed between passes")
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

TEST_CASE("prune: prune_log rewrites the file and a writer follows the new one")
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

TEST_CASE("prune: prune_log drops a torn tail, keeps bad lines, follows a symlink")
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

TEST_CASE("prune: prune_log of a missing log, and a policy must be one of two")
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

TEST_CASE("prune: prune_log of a FIFO or a directory is an error, never a wait")
{
  TempDir dir;
  const auto fifo = dir.file("fifo.jsonl");
  const rag::util::Fd held = make_held_fifo(fifo);
  auto pruned = prune_log(fifo, PrunePolicy{1, std::nullopt}, false);
  REQUIRE_FALSE(pruned);
  CHECK(pruned.error().message ==
        fmt::format("event log {} is a FIFO (named pipe), not a regular file", fifo));
  auto of_dir = prune_log(dir.path(), PrunePolicy{1, std::nullopt}, false);
  REQUIRE_FALSE(of_dir);
  CHECK(of_dir.error().message ==
        fmt::format("event log {} is a directory, not a regular file", dir.path()));
}

TEST_CASE("prune: the prune report as JSON")
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
