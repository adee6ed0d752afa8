#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "cli/secret_arg.hpp"
#include "commands/inspect.hpp"
#include "core/signature.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace rag::cli {

namespace {

constexpr const char* k_inspect_examples = R"(Examples:
  rag inspect                            the newest 20 events, oldest first
  rag inspect --last 100 --method POST   the newest 100 POSTs
  rag inspect --since 10m --path '/github/*'
                                         every event of the last 10 minutes under /github/
  rag inspect --header X-GitHub-Event=push --grep main
  rag inspect --status failed            events whose latest delivery failed
  rag inspect --follow                   keep printing new events (Ctrl-C to stop)
  rag inspect --json | jq -r .target     events as JSON Lines
  rag inspect evt_1K15                   one event in full: headers, body, deliveries
  rag inspect 1K15 --body | sha256sum    the exact body bytes ("evt_" is optional)
  rag inspect --curl                     a curl command that re-sends the newest event
  rag inspect evt_1K15 --verify github=env:GITHUB_SECRET
                                         check the stored signature now (exit 1 unless valid)

Times: --since/--until take an age (30s, 10m, 2h, 7d) or a time (2026-11-26T14:30:00Z,
2026-11-26 14:30, 14:30 today). --path is a glob where * also matches '/'.
Without an ID, --body, --headers, --curl and --verify use the newest event matching the
filters. A request rag refused shows what its sender was answered ("413 refused" in
STATUS; --status matches that answer too). --verify prints one line per PROVIDER=SECRET
("github: valid", "stripe: invalid: timestamp outside tolerance") and exits 0 only when
every one is valid.

Where --curl sends: never to the host the sender named (its Host header or an absolute
URL). An event captured by `rag listen` goes back to the address it was captured on, with
its Host as a header only; a `rag tunnel` event to where the tunnel first delivered it (a
target from its command line); any other (imported, never delivered) to the placeholder
http://localhost:PORT, which curl refuses until you edit it.)";

} // namespace

Runner
add_inspect(CLI::App& app)
{
  auto options = std::make_shared<commands::InspectOptions>();
  auto log = std::make_shared<std::string>();
  auto verify = std::make_shared<std::vector<std::string>>();
  auto last = std::make_shared<std::string>();
  CLI::App* sub =
      app.add_subcommand("inspect", "List, filter and follow captured events, or show one in full");
  sub->footer(k_inspect_examples);

  sub->add_option("ID", options->id, "Show this event (any unique prefix of its id)");
  CLI::Option* last_option =
      sub->add_option("--last", *last, "Show the newest N matching events (default 20)")
          ->option_text("N");
  sub->add_option("--since", options->since, "Only events at or after TIME (an age like 10m)")
      ->option_text("TIME");
  sub->add_option("--until", options->until, "Only events at or before TIME (an age like 2h)")
      ->option_text("TIME");
  sub->add_option("--method", options->method, "Only this HTTP method (any case)")
      ->option_text("METHOD");
  sub->add_option("--path", options->path_glob, "Only targets whose path matches GLOB")
      ->option_text("GLOB");
  sub->add_option("--header", options->headers,
                  "Only events with this header (and value); repeatable")
      ->option_text("NAME[=VALUE]")
      ->allow_extra_args(false);
  sub->add_option("--grep", options->grep, "Only events whose target, headers or body contain TEXT")
      ->option_text("TEXT");
  sub->add_option(
         "--status", options->status,
         "Only events whose latest delivery, or rag's refusal, had STATUS: 200, 4xx or failed")
      ->option_text("STATUS");
  // Conflicting output flags are rejected by run_inspect with one clear message
  // (CLI11's excludes() would clutter every line of --help).
  sub->add_flag("--follow,-f", options->follow, "Keep printing new events as they are captured");
  sub->add_flag("--json", options->json, "Print records as JSON Lines");
  sub->add_flag("--body", options->body, "Print only the raw body bytes");
  sub->add_flag("--headers", options->show_headers,
                "Print only the request line and headers as captured");
  sub->add_flag("--curl", options->curl,
                "Print a curl command that re-sends the request to where it was captured");
  sub->add_option("--verify", *verify,
                  "Check the event's stored signature now and print the verdict (repeatable); "
                  "PROVIDER is github, stripe, standard, svix, shopify, slack or "
                  "hmac:HEADER:ALGO:ENCODING[:PREFIX]; SECRET may be env:NAME or file:PATH")
      ->option_text("PROVIDER=SECRET")
      ->allow_extra_args(false);
  add_log_option(*sub, *log);

  return [options, log, verify, last, last_option]() -> Result<int> {
    options->log_path = resolve_log_path(*log);
    if (last_option->count() > 0) {
      RAG_TRY_ASSIGN(options->last, parse_event_count("--last", *last, 1));
    }
    for (const auto& text : *verify) {
      RAG_TRY_ASSIGN(core::SignatureSpec spec,
                     core::parse_signature_spec(text, resolve_secret_arg));
      options->verify.push_back(std::move(spec));
    }
    return commands::run_inspect(*options, terminal_console());
  };
}

} // namespace rag::cli
