#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "cli/secret_arg.hpp"
#include "commands/replay.hpp"
#include "core/duration.hpp"
#include "core/forward_plan.hpp"
#include "core/header_override.hpp"
#include "core/rate_limit.hpp"

#include "core/signature.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_replay_examples = R"(Examples:
  rag replay evt_1K15                     re-send one event to the targets it went to
  rag replay 1K15 1K16 --to 4000          two events to http://127.0.0.1:4000 (same path)
  rag replay --last 10 --to 3000/hooks    the newest 10 events, oldest first, to /hooks
  rag replay --status failed              every event whose latest delivery failed
  rag replay --since 1h --path '/github/*' --to 3000 --rate 10/s
  rag replay --last 1 --dry-run           show exactly what would be sent; send nothing
  rag replay --last 500 --to 3000 --concurrency 1
                                          one at a time, strictly in capture order
  rag replay evt_1K15 --set-header 'X-Debug: 1' --json
  rag replay --since 1h --to 3000 --resign stripe=env:STRIPE_KEY --resign github=env:GH_KEY
                                          each event re-signed with its provider's scheme

Select events by ID (any unique prefix), --last N, or the filters of `rag inspect`.
Events go out in capture order, oldest first. Without --to, each event goes to the exact
URLs it was delivered to before (replays not counted); --to takes PORT, HOST:PORT[/PATH]
or a URL with the path rules of `rag listen --forward-to`. The body and headers go out as
captured (hop-by-hop headers dropped, Host set to the target, X-Forwarded-* added).
--resign re-signs an event with each given scheme whose signature header it carries (the
test --verify makes); one that carries none is re-signed when a single --resign was given,
else sent as captured with a warning. --dry-run shows what each event is re-signed with.
An event is skipped with a warning naming it, and the others are still replayed, when it
has no original target (never delivered, and no --to), when its signature failed
verification at capture (the requests --reject-invalid refuses; --include-rejected sends
them too), or when rag refused it before it was whole (413, 431, 400, 501, 408: its body
is not in the log).
Trailer fields of a chunked request are recorded but never sent.
--concurrency N runs up to N deliveries at once, so with N > 1 a target may receive
events out of order; --concurrency 1 keeps the order. Every attempt is recorded as a
delivery with "replay": true (see `rag inspect ID`).
Exit 0 when every delivery succeeded, 1 when one failed (an error or a status >= 400) or
an event was skipped.
Ctrl-C stops sending, waits up to 10s for deliveries in flight, prints the summary and
exits 1 when something failed or was left unsent; a second Ctrl-C quits at once (130).)";

struct ReplayArgs
{
  std::vector<std::string> ids;
  std::string last; // --last as typed
  bool last_given = false;
  core::FilterSpec filter;
  std::vector<std::string> to;
  std::vector<std::string> set_headers;
  std::vector<std::string> resign;
  int concurrency = 8;
  std::string rate;
  std::string timeout = "30s";
  bool insecure = false;
  bool include_rejected = false;
  bool dry_run = false;
  bool json = false;
  std::string log;
};

Result<commands::ReplayOptions>
make_options(const ReplayArgs& args)
{
  commands::ReplayOptions options;
  options.ids = args.ids;
  if (args.last_given) {
    RAG_TRY_ASSIGN(const long long last, parse_event_count("--last", args.last, 1));
    options.last = static_cast<int>(std::min<long long>(last, std::numeric_limits<int>::max()));
  }
  options.filter = args.filter;
  for (const auto& text : args.to) {
    RAG_TRY_ASSIGN(core::Target target, core::parse_target(text));
    options.to.push_back(std::move(target));
  }
  for (const auto& text : args.set_headers) {
    RAG_TRY_ASSIGN(core::Header header, core::parse_header_override(text));
    options.set_headers.push_back(std::move(header));
  }
  for (const auto& text : args.resign) {
    RAG_TRY_ASSIGN(core::SignatureSpec spec, core::parse_signature_spec(text, resolve_secret_arg));
    options.resign.push_back(std::move(spec));
  }
  options.concurrency = static_cast<std::size_t>(args.concurrency);
  if (!args.rate.empty()) {
    RAG_TRY_ASSIGN(options.rate_per_second, core::parse_rate(args.rate));
  }
  RAG_TRY_ASSIGN(options.delivery.timeout, parse_timeout_flag(args.timeout));
  options.delivery.insecure = args.insecure;
  options.include_rejected = args.include_rejected;
  options.dry_run = args.dry_run;
  options.json = args.json;
  options.log_path = resolve_log_path(args.log);
  return options;
}

} // namespace

Runner
add_replay(CLI::App& app)
{
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* sub = app.add_subcommand(
      "replay", "Re-send captured events, byte for byte, to their original or new targets");
  sub->footer(k_replay_examples);

  sub->add_option("ID", args->ids, "Replay these events (any unique prefix of an id)");
  CLI::Option* last_option =
      sub->add_option("--last", args->last, "Replay the newest N matching events")
          ->option_text("N");
  sub->add_option("--since", args->filter.since, "Only events at or after TIME (an age like 10m)")
      ->option_text("TIME");
  sub->add_option("--until", args->filter.until, "Only events at or before TIME (an age like 2h)")
      ->option_text("TIME");
  sub->add_option("--method", args->filter.method, "Only this HTTP method (any case)")
      ->option_text("METHOD");
  sub->add_option("--path", args->filter.path_glob, "Only targets whose path matches GLOB")
      ->option_text("GLOB");
  sub->add_option("--header", args->filter.headers,
                  "Only events with this header (and value); repeatable")
      ->option_text("NAME[=VALUE]")
      ->allow_extra_args(false);
  sub->add_option("--grep", args->filter.grep,
                  "Only events whose target, headers or body contain TEXT")
      ->option_text("TEXT");
  sub->add_option(
         "--status", args->filter.status,
         "Only events whose latest delivery, or rag's refusal, had STATUS: 200, 4xx or failed")
      ->option_text("STATUS");
  sub->add_option("--to", args->to, "Send to this target instead of the original ones (repeatable)")
      ->option_text("URL")
      ->allow_extra_args(false);
  sub->add_option("--set-header", args->set_headers,
                  "Replace every header NAME with this one, or add it (repeatable)")
      ->option_text("NAME:VALUE")
      ->allow_extra_args(false);
  sub->add_option("--resign", args->resign,
                  "Recompute the provider's signature for the exact body with a fresh "
                  "timestamp (ids kept), so old events still verify (repeatable: each event "
                  "gets the schemes whose headers it carries)")
      ->option_text("PROVIDER=SECRET")
      ->allow_extra_args(false);
  sub->add_option("--concurrency", args->concurrency,
                  "Deliveries in flight at most (default 8; 1 keeps capture order)")
      ->option_text("N")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--rate", args->rate, "Send at most N requests per second (or N/m, N/h)")
      ->option_text("N/s");
  sub->add_option("--timeout", args->timeout, "Give up on a delivery after this (30s)")
      ->option_text("DURATION");
  sub->add_flag("--insecure", args->insecure, "Accept self-signed certificates of https targets");
  sub->add_flag("--include-rejected", args->include_rejected,
                "Also replay events whose signature failed verification when captured (the "
                "requests --reject-invalid refuses); skipped with a warning otherwise");
  sub->add_flag("--dry-run", args->dry_run,
                "Print each request that would be sent (headers, body size, SHA-256; one "
                "JSON object each with --json); send nothing");
  sub->add_flag("--json", args->json, "Print the delivery records as JSON Lines");
  add_log_option(*sub, args->log);

  return [args, last_option]() -> Result<int> {
    args->last_given = last_option->count() > 0;
    RAG_TRY_ASSIGN(const commands::ReplayOptions options, make_options(*args));
    return commands::run_replay(options, terminal_console());
  };
}

} // namespace rag::cli
