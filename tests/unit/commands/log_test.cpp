#include "commands/log.hpp"
#include "engine/console.hpp"

#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace rag;

namespace {

commands::LogOptions
options_for(const std::string& path, commands::LogAction action)
{
  commands::LogOptions options;
  options.action = action;
  options.log_path = path;
  return options;
}

} // namespace

TEST_CASE("rag log path: the path on stdout, where it came from on stderr")
{
  test::TempLog log;
  engine::StringConsole console;
  auto options = options_for(log.path, commands::LogAction::path);
  options.source = commands::LogPathSource::flag;
  REQUIRE(commands::run_log(options, console).ok());
  CHECK(console.out_text() == log.path + "\n");
  CHECK(console.err_text() == "rag: from --log; the file does not exist yet\n");
}

TEST_CASE("rag log stats and verify: rows on stdout, verdicts on stderr, exit 1 on a bad line")
{
  test::TempLog log;
  test::append_events(log.path, 3);
  {
    engine::StringConsole console;
    auto stats = commands::run_log(options_for(log.path, commands::LogAction::stats), console);
    REQUIRE(stats.ok());
    CHECK(*stats == 0);
    CHECK(console.out_text().find("events       3\n") != std::string::npos);
    CHECK(console.out_text().find("methods      POST 3\n") != std::string::npos);
    CHECK(console.err_text().empty());
  }
  {
    engine::StringConsole console;
    auto verified = commands::run_log(options_for(log.path, commands::LogAction::verify), console);
    REQUIRE(verified.ok());
    CHECK(*verified == 0);
    CHECK(console.out_text().empty());
    CHECK(console.err_text().find(": no bad lines (3 lines checked: 3 events, 0 deliveries)") !=
          std::string::npos);
  }
  std::ofstream(log.path, std::ios::app) << "not json\n";
  test::append_events(log.path, 1);
  engine::StringConsole console;
  auto verified = commands::run_log(options_for(log.path, commands::LogAction::verify), console);
  REQUIRE(verified.ok());
  CHECK(*verified == 1);
  CHECK(console.out_text().rfind("4: ", 0) == 0); // the bad line, by number
  CHECK(console.err_text().find("1 bad line") != std::string::npos);
}

TEST_CASE("rag log prune --keep: the report on stdout; bad input is a usage error")
{
  test::TempLog log;
  test::append_events(log.path, 5);
  engine::StringConsole console;
  auto options = options_for(log.path, commands::LogAction::prune);
  options.keep = 2;
  auto pruned = commands::run_log(options, console);
  REQUIRE(pruned.ok());
  CHECK(console.out_text().rfind("pruned 3 events and 0 deliveries, kept 2 events", 0) == 0);
  options.keep = -1;
  auto bad = commands::run_log(options, console);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().exit_code == 2);
}
