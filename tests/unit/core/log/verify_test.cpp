#include "core/log/verify.hpp"

#include "core/log/record_writer.hpp"
#include "core/log/stats.hpp"

#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

using rag::test::TempDir;

TEST_CASE("verify: LogVerifier reports bad lines and warnings by line number")
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

TEST_CASE("verify: a problem's reason cannot reach the terminal raw")
{
  const LogProblem problem{3, false, "unknown record kind '\x1b[31mred'"};
  CHECK(format_problem(problem).find('\x1b') == std::string::npos);
}

TEST_CASE("verify: verify_log and collect_log_stats read a file with a torn tail")
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
