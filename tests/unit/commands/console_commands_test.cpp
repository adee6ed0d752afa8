// The commands that write only through an engine::Console, run with a StringConsole:
// what they print on which stream, without a terminal or a subprocess.

#include "commands/export.hpp"
#include "commands/inspect.hpp"
#include "commands/replay.hpp"
#include "commands/trigger.hpp"
#include "core/forward_plan.hpp"
#include "engine/console.hpp"

#include "support/log_fixture.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>

using namespace rag;

namespace {

std::size_t
count_lines(const std::string& text)
{
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_CASE("rag trigger --list: one line per sample on stdout, nothing on stderr")
{
  engine::StringConsole console;
  commands::TriggerOptions options;
  options.list = true;
  auto listed = commands::run_trigger(options, console);
  REQUIRE(listed.ok());
  CHECK(*listed == 0);
  const std::string out = console.out_text();
  CHECK(out.find("github.push ") != std::string::npos);
  CHECK(out.find("stripe.payment_intent.succeeded ") != std::string::npos);
  CHECK(console.err_text().empty());

  engine::StringConsole json;
  options.json = true;
  REQUIRE(commands::run_trigger(options, json).ok());
  CHECK(count_lines(json.out_text()) == count_lines(out));
  CHECK(json.out_text().rfind("{\"name\":", 0) == 0);
}

TEST_CASE("rag inspect: the table and --json on the data stream; nothing found on stderr")
{
  test::TempLog log;
  test::append_events(log.path, 3);
  commands::InspectOptions options;
  options.log_path = log.path;
  {
    engine::StringConsole console;
    REQUIRE(commands::run_inspect(options, console).ok());
    const std::string out = console.out_text();
    CHECK(count_lines(out) == 4); // the header and three rows, oldest first
    CHECK(out.find("/hook/0") < out.find("/hook/2"));
    CHECK(console.err_text().empty());
  }
  {
    engine::StringConsole console;
    options.json = true;
    options.last = 2;
    REQUIRE(commands::run_inspect(options, console).ok());
    CHECK(count_lines(console.out_text()) == 2);
    CHECK(console.out_text().find("\"target\":\"/hook/2\"") != std::string::npos);
  }
  {
    engine::StringConsole console;
    options.json = false;
    options.method = "DELETE";
    REQUIRE(commands::run_inspect(options, console).ok());
    CHECK(console.err_text().rfind("rag: ", 0) == 0);
    CHECK(console.out_text().find("/hook/") == std::string::npos);
  }
  {
    engine::StringConsole console;
    commands::InspectOptions one;
    one.log_path = log.path;
    one.id = "evt_01KBJ2X7Q9R3M8TZ4D6PNWAH11";
    one.body = true;
    auto shown = commands::run_inspect(one, console);
    REQUIRE_MESSAGE(shown.ok(), (shown.ok() ? "" : shown.error().message));
    CHECK(console.out_text() == "{\"n\":1}");
  }
}

TEST_CASE("rag export: JSON Lines on the data stream; an empty log warns")
{
  test::TempLog log;
  test::append_events(log.path, 2);
  commands::ExportOptions options;
  options.log_path = log.path;
  engine::StringConsole console;
  REQUIRE(commands::run_export(options, console).ok());
  CHECK(count_lines(console.out_text()) == 2);
  CHECK(console.out_text().find("/hook/0") < console.out_text().find("/hook/1"));
  CHECK(console.err_text().empty());

  test::TempLog empty;
  options.log_path = empty.path;
  engine::StringConsole nothing;
  REQUIRE(commands::run_export(options, nothing).ok());
  CHECK(nothing.out_text().empty());
  CHECK(nothing.err_text() ==
        "rag: warning: no events in " + empty.path + " yet; nothing exported\n");
}

TEST_CASE("rag replay --dry-run: each request on the data stream, skips and the summary on stderr")
{
  test::TempLog log;
  test::append_events(log.path, 3);
  commands::ReplayOptions options;
  options.log_path = log.path;
  options.last = 2;
  options.dry_run = true;
  {
    // No original target and no --to: each event is named and skipped, exit 1.
    engine::StringConsole console;
    auto outcome = commands::run_replay(options, console);
    REQUIRE(outcome.ok());
    CHECK(*outcome == 1);
    CHECK(console.out_text().empty());
    const std::string err = console.err_text();
    CHECK(err.find("rag: warning: evt_01KBJ2X7Q9R3M8TZ4D6PNWAH11 skipped: ") == 0);
    CHECK(err.find("rag: warning: evt_01KBJ2X7Q9R3M8TZ4D6PNWAH12 skipped: ") != std::string::npos);
    CHECK(err.find("dry run: 0 requests for 0 events would be sent (2 events skipped)") !=
          std::string::npos);
  }
  {
    auto target = core::parse_target("http://127.0.0.1:9/in");
    REQUIRE(target.ok());
    options.to = {*target};
    options.json = true;
    engine::StringConsole console;
    auto outcome = commands::run_replay(options, console);
    REQUIRE(outcome.ok());
    CHECK(*outcome == 0);
    const std::string out = console.out_text();
    CHECK(count_lines(out) == 2);
    CHECK(out.find("\"event_id\":\"evt_01KBJ2X7Q9R3M8TZ4D6PNWAH11\"") <
          out.find("\"event_id\":\"evt_01KBJ2X7Q9R3M8TZ4D6PNWAH12\""));
    CHECK(out.find("\"url\":\"http://127.0.0.1:9/in\"") != std::string::npos);
    CHECK(console.err_text() ==
          "dry run: 2 requests for 2 events would be sent; nothing was sent\n");
  }
}
