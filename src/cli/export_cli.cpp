#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "commands/export.hpp"
#include "util/text.hpp"

#include <CLI/CLI.hpp>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_export_examples = R"(Examples:
  rag export > events.jsonl                 every event and its deliveries, as logged
  rag export --format har -o webhooks.har   HAR 1.2 for browser dev tools and HAR viewers
  rag export --format har --last 20 --path '/github/*' -o github.har
  rag export --format curl -o resend.sh     a bash script that sends every request again
  rag export --format curl --status failed --since 1h | bash
  rag export --format jsonl --since 1d | rag import --log other.jsonl -

Formats:
  jsonl  (default) the selected event lines and their delivery lines, byte for byte as
         they are in the log, in log order: `rag import` reads them back.
  har    HAR 1.2: one entry per event; the request as captured, the response of its
         primary target (latest attempt; status 0 with _error when there was none; for
         a request rag refused, rag's answer, with _rag_rejected).
         Bodies that are not UTF-8 are base64 with "encoding": "base64" (on postData
         also "_encoding", as HAR defines encoding for responses only). _rag_* fields
         keep what HAR cannot say (raw target, event id), so import is byte-exact.
  curl   `#!/usr/bin/env bash` with one curl command per event (the request of
         `rag inspect --curl`). With -o FILE, bodies that are binary or big are written
         to FILE.d/ID.bin and sent with --data-binary @file; on stdout they are printf'd.
         Requests rag refused before they were whole are left out (no body recorded).
         Each goes where `rag inspect --curl` sends it: back to the listener that
         captured it, never to the sender's Host; tunnel events to the tunnel's first
         target; imported ones to http://localhost:PORT, to be edited.

Events are selected like `rag inspect` (every matching event unless --last) and written
oldest first. -o writes a new file (mode 0600, 0700 for curl) in one rename.)";

} // namespace

Runner
add_export(CLI::App& app)
{
  auto options = std::make_shared<commands::ExportOptions>();
  auto log = std::make_shared<std::string>();
  auto last = std::make_shared<std::string>();
  CLI::App* sub =
      app.add_subcommand("export", "Write captured events as JSON Lines, HAR 1.2 or curl commands");
  sub->footer(k_export_examples);

  auto format = std::make_shared<std::string>("jsonl");
  sub->add_option("--format,-F", *format, "Output format: jsonl (default), har or curl")
      ->option_text("FORMAT")
      ->check(CLI::IsMember({"jsonl", "har", "curl"}, CLI::ignore_case));
  sub->add_option("--output,-o", options->output, "Write to FILE (atomically) instead of stdout")
      ->option_text("FILE");
  CLI::Option* last_option =
      sub->add_option("--last", *last, "Only the newest N matching events")->option_text("N");
  sub->add_option("--since", options->filter.since,
                  "Only events at or after TIME (an age like 10m)")
      ->option_text("TIME");
  sub->add_option("--until", options->filter.until,
                  "Only events at or before TIME (an age like 2h)")
      ->option_text("TIME");
  sub->add_option("--method", options->filter.method, "Only this HTTP method (any case)")
      ->option_text("METHOD");
  sub->add_option("--path", options->filter.path_glob, "Only targets whose path matches GLOB")
      ->option_text("GLOB");
  sub->add_option("--header", options->filter.headers,
                  "Only events with this header (and value); repeatable")
      ->option_text("NAME[=VALUE]")
      ->allow_extra_args(false);
  sub->add_option("--grep", options->filter.grep,
                  "Only events whose target, headers or body contain TEXT")
      ->option_text("TEXT");
  sub->add_option(
         "--status", options->filter.status,
         "Only events whose latest delivery, or rag's refusal, had STATUS: 200, 4xx or failed")
      ->option_text("STATUS");
  add_log_option(*sub, *log);

  return [options, log, format, last, last_option]() -> Result<int> {
    options->log_path = resolve_log_path(*log);
    if (last_option->count() > 0) {
      RAG_TRY_ASSIGN(options->last, parse_event_count("--last", *last, 1));
    }
    const std::string name = util::to_lower(*format);
    options->format = name == "har"    ? commands::ExportFormat::har
                      : name == "curl" ? commands::ExportFormat::curl
                                       : commands::ExportFormat::jsonl;
    return commands::run_export(*options, terminal_console());
  };
}

} // namespace rag::cli
