#include "cli/commands.hpp"
#include "commands/listen.hpp"
#include "core/duration.hpp"
#include "core/forward_plan.hpp"
#include "core/listen_address.hpp"
#include "core/listen_config.hpp"
#include "core/signature.hpp"
#include "util/units.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_listen_examples = R"(Examples:
  rag listen                              capture on http://127.0.0.1:7777, answer 200
  rag listen -f 3000                      forward to http://127.0.0.1:3000 (same path)
  rag listen -f 3000 -f 4000/hooks        fan out: 3000 answers the sender, 4000 gets a copy
  rag listen --route /github=3001 --route /stripe=3002
                                          one listener, one service per provider
  rag listen -f 3000 --respond 202        answer 202 at once, forward in the background
  rag listen -f 3000 --retry 3 --ordered  retry failures, deliver strictly in order
  rag listen 9000 --json | jq .id         port 9000; JSON records on stdout
  rag listen -f 3000 --verify github=env:GITHUB_WEBHOOK_SECRET --reject-invalid
                                          check signatures, answer 401 to forgeries

Targets: PORT, HOST:PORT[/PATH] or an http(s) URL. A target without a path keeps the
incoming path and query; one with a path replaces the path and keeps the query.
--route PREFIX=URL takes requests under PREFIX and strips it (unless URL has a path).
--config rag.json adds routes that match on path prefix or glob, method and header
values (documented in docs/config.md), e.g.:
  {"forward_to": ["3000"],
   "routes": [{"path": "/github", "headers": {"X-GitHub-Event": "push"}, "to": ["3001"]},
              {"glob": "/shops/*/orders", "method": "POST", "to": ["3002"], "respond": 202}]}
Every request is written to the event log before its sender gets an answer.
Stop with Ctrl-C. Look at what was captured with `rag inspect`.)";

struct ListenArgs
{
  std::string address;
  std::string log;
  std::vector<std::string> forward_to;
  std::vector<std::string> routes;
  std::string config;
  std::vector<std::string> verify;
  bool reject_invalid = false;
  std::string respond;
  std::string timeout = "30s";
  int retry = 0;
  bool ordered = false;
  bool insecure = false;
  bool preserve_host = false;
  std::string max_body = "25MiB";
  bool json = false;
};

Result<core::RespondPolicy>
parse_respond(const std::string& text)
{
  if (text == "primary") {
    return core::RespondPolicy{true, 200};
  }
  int status = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
  if (ec != std::errc() || ptr != text.data() + text.size() || status < 200 || status > 599) {
    return usage_error(fmt::format("invalid --respond '{}'", text),
                       "use primary or a status from 200 to 599, e.g. --respond 202");
  }
  return core::RespondPolicy{false, status};
}

Result<commands::ListenOptions>
make_options(const ListenArgs& args)
{
  commands::ListenOptions options;
  if (!args.address.empty()) {
    RAG_TRY_ASSIGN(const core::ListenAddress address, core::parse_listen_address(args.address));
    options.host = address.host;
    options.port = address.port;
  }
  for (const auto& text : args.forward_to) {
    RAG_TRY_ASSIGN(core::Target target, core::parse_target(text));
    options.routing.forward_to.push_back(std::move(target));
  }
  for (const auto& text : args.routes) {
    RAG_TRY_ASSIGN(core::Route route, core::parse_route(text));
    core::RouteRule rule;
    rule.name = "--route " + text;
    rule.path_prefix = route.prefix;
    rule.targets.push_back(std::move(route.target));
    options.routing.routes.push_back(std::move(rule));
  }
  if (!args.config.empty()) {
    // Flags come first: their targets and routes precede the file's.
    RAG_TRY_ASSIGN(core::ListenConfig config, core::load_listen_config(args.config));
    for (auto& target : config.forward_to) {
      options.routing.forward_to.push_back(std::move(target));
    }
    for (auto& rule : config.routes) {
      options.routing.routes.push_back(std::move(rule));
    }
    options.respond = config.respond;
  }
  if (!args.respond.empty()) {
    RAG_TRY_ASSIGN(options.respond, parse_respond(args.respond));
  }
  for (const auto& text : args.verify) {
    RAG_TRY_ASSIGN(core::SignatureSpec spec, core::parse_signature_spec(text));
    options.verify.push_back(std::move(spec));
  }
  const bool any_route_verifies =
      std::any_of(options.routing.routes.begin(), options.routing.routes.end(),
                  [](const core::RouteRule& rule) { return !rule.verify.empty(); });
  if (args.reject_invalid && options.verify.empty() && !any_route_verifies) {
    return usage_error("--reject-invalid needs a signature to check",
                       "add --verify PROVIDER=SECRET, e.g. --verify github=env:GITHUB_SECRET");
  }
  options.reject_invalid = args.reject_invalid;
  RAG_TRY_ASSIGN(const std::int64_t timeout_us, core::parse_duration_us(args.timeout));
  if (timeout_us < 1000) {
    return usage_error(fmt::format("invalid --timeout '{}': too short", args.timeout),
                       "use at least 1ms, e.g. --timeout 30s");
  }
  options.timeout = std::chrono::milliseconds(timeout_us / 1000);
  options.retries = args.retry;
  options.ordered = args.ordered;
  options.insecure = args.insecure;
  options.preserve_host = args.preserve_host;
  RAG_TRY_ASSIGN(options.max_body, util::parse_byte_size(args.max_body));
  options.json = args.json;
  options.log_path = resolve_log_path(args.log);
  return options;
}

} // namespace

Runner
add_listen(CLI::App& app)
{
  auto args = std::make_shared<ListenArgs>();
  CLI::App* sub = app.add_subcommand(
      "listen", "Capture every request into the event log and forward it to local services");
  sub->footer(k_listen_examples);
  sub->add_option("ADDRESS", args->address,
                  "PORT, HOST:PORT or [IPv6]:PORT to listen on (default 127.0.0.1:7777)");
  sub->add_option("-f,--forward-to", args->forward_to,
                  "Forward every request to this target (repeatable; the first answers "
                  "the sender)")
      ->option_text("URL")
      ->allow_extra_args(false);
  sub->add_option("--route", args->routes,
                  "Forward requests under PREFIX to URL (repeatable; prefix stripped)")
      ->option_text("PREFIX=URL")
      ->allow_extra_args(false);
  sub->add_option("--config", args->config,
                  "Routes, targets and response policy from a JSON file (see below)")
      ->option_text("FILE");
  sub->add_option("--respond", args->respond,
                  "Answer the sender with the primary target's response (primary, the "
                  "default) or at once with STATUS, forwarding in the background")
      ->option_text("primary|STATUS");
  sub->add_option("--timeout", args->timeout, "Give up on a delivery attempt after this (30s)")
      ->option_text("DURATION");
  sub->add_option("--retry", args->retry,
                  "Retry a failed delivery up to N times with backoff (connection errors, "
                  "timeouts, 408/425/429/5xx)")
      ->option_text("N")
      ->check(CLI::Range(0, 100));
  sub->add_option("--verify", args->verify,
                  "Check each request's signature and record the verdict (repeatable); "
                  "PROVIDER is github, stripe, standard, svix, shopify, slack or "
                  "hmac:HEADER:ALGO:ENCODING[:PREFIX]; SECRET may be env:NAME or file:PATH")
      ->option_text("PROVIDER=SECRET")
      ->allow_extra_args(false);
  sub->add_flag("--reject-invalid", args->reject_invalid,
                "Answer 401 to requests whose signature fails (they are still logged, "
                "not forwarded)");
  sub->add_flag("--ordered", args->ordered,
                "Deliver to each target strictly in arrival order, one at a time");
  sub->add_flag("--insecure", args->insecure, "Accept self-signed certificates of https targets");
  sub->add_flag("--preserve-host", args->preserve_host,
                "Send the sender's Host header to targets instead of the target's");
  sub->add_option("--max-body", args->max_body,
                  "Largest request body accepted; bigger ones get 413 (default 25MiB)")
      ->option_text("SIZE");
  sub->add_flag("--json", args->json, "Print event and delivery records as JSON lines on stdout");
  add_log_option(*sub, args->log);

  return [args]() -> Result<int> {
    RAG_TRY_ASSIGN(const commands::ListenOptions options, make_options(*args));
    return commands::run_listen(options);
  };
}

} // namespace rag::cli
