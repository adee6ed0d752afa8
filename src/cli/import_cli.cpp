#include "cli/commands.hpp"
#include "commands/import.hpp"

#include <CLI/CLI.hpp>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_import_examples = R"(Examples:
  rag import webhooks.har                a HAR from browser dev tools or `rag export`
  rag import events.jsonl                events and deliveries from `rag export`
  rag export --since 1d | rag import --log team.jsonl -
  rag import capture.har --json | jq -r .id

The format is told by the content: a JSON object with log.entries is HAR, anything
else JSON Lines. Every event gets a new id (time-sortable from its original time) and
source "import:/absolute/path/FILE"; bodies are kept byte for byte (base64 postData is
decoded; a HAR form without postData.text is rebuilt from its params). HTTP/2
pseudo-headers are dropped, :authority becoming Host. From JSON Lines, deliveries come
along with new ids, linked to the new event ids. Bad entries or lines are skipped with a
warning naming them; the exit code is 1 only when nothing could be imported.)";

} // namespace

Runner
add_import(CLI::App& app)
{
  auto options = std::make_shared<commands::ImportOptions>();
  auto log = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "import", "Append the events of a HAR or JSON Lines file to the log, with new ids");
  sub->footer(k_import_examples);

  sub->add_option("FILE", options->file, "HAR or JSON Lines file to read (- for stdin)")
      ->required();
  sub->add_flag("--json", options->json, "Print the appended records as JSON Lines");
  add_log_option(*sub, *log);

  return [options, log]() -> Result<int> {
    options->log_path = resolve_log_path(*log);
    return commands::run_import(*options, terminal_console());
  };
}

} // namespace rag::cli
