#include "cli/forward_flags.hpp"

#include "cli/secret_arg.hpp"

#include "core/duration.hpp"
#include "core/listen_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace rag::cli {

namespace {

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

} // namespace

void
add_forward_flags(CLI::App& sub, ForwardFlags& flags, ForwardCommand command)
{
  const bool listen = command == ForwardCommand::listen;
  sub.add_option("-f,--forward-to", flags.forward_to,
                 listen ? "Forward every request to this target (repeatable; the first answers "
                          "the sender)"
                        : "Forward every webhook to this target (repeatable; the first one's "
                          "answer goes back with --respond-back)")
      ->option_text("URL")
      ->allow_extra_args(false);
  sub.add_option("--route", flags.routes,
                 listen ? "Forward requests under PREFIX to URL (repeatable; prefix stripped)"
                        : "Forward webhooks under PREFIX to URL (repeatable; prefix stripped)")
      ->option_text("PREFIX=URL")
      ->allow_extra_args(false);
  sub.add_option("--config", flags.config,
                 "Routes, targets and response policy from a JSON file (see below)")
      ->option_text("FILE");
  if (listen) {
    sub.add_option("--respond", flags.respond,
                   "Answer the sender with the primary target's response (primary, the "
                   "default) or at once with STATUS, forwarding in the background")
        ->option_text("primary|STATUS");
  }
  sub.add_option("--timeout", flags.timeout, "Give up on a delivery attempt after this (30s)")
      ->option_text("DURATION");
  sub.add_option("--retry", flags.retry,
                 "Retry a failed delivery up to N times with backoff (connection errors, "
                 "timeouts, 408/425/429/5xx)")
      ->option_text("N")
      ->check(CLI::Range(0, 100));
  sub.add_option("--verify", flags.verify,
                 listen ? "Check each request's signature and record the verdict (repeatable); "
                          "PROVIDER is github, stripe, standard, svix, shopify, slack or "
                          "hmac:HEADER:ALGO:ENCODING[:PREFIX]; SECRET may be env:NAME or "
                          "file:PATH"
                        : "Check each webhook's signature and record the verdict (repeatable); "
                          "PROVIDER is github, stripe, standard, svix, shopify, slack or "
                          "hmac:HEADER:ALGO:ENCODING[:PREFIX]; SECRET may be env:NAME or "
                          "file:PATH")
      ->option_text("PROVIDER=SECRET")
      ->allow_extra_args(false);
  sub.add_flag("--reject-invalid", flags.reject_invalid,
               listen ? "Answer 401 to requests whose signature fails (they are still logged, "
                        "not forwarded)"
                      : "Do not forward webhooks whose signature fails (they are still logged; "
                        "with --respond-back the sender gets 401)");
  sub.add_flag("--ordered", flags.ordered,
               "Deliver to each target strictly in arrival order, one at a time");
  sub.add_flag("--insecure", flags.insecure,
               listen ? "Accept self-signed certificates of https targets"
                      : "Accept self-signed certificates of https targets and of the relay");
  sub.add_flag("--preserve-host", flags.preserve_host,
               "Send the sender's Host header to targets instead of the target's");
}

Result<engine::PipelineOptions>
parse_forward_flags(const ForwardFlags& flags)
{
  engine::PipelineOptions settings;
  for (const auto& text : flags.forward_to) {
    RAG_TRY_ASSIGN(core::Target target, core::parse_target(text));
    settings.routing.forward_to.push_back(std::move(target));
  }
  for (const auto& text : flags.routes) {
    RAG_TRY_ASSIGN(core::Route route, core::parse_route(text));
    core::RouteRule rule;
    rule.name = "--route " + text;
    rule.path_prefix = route.prefix;
    rule.targets.push_back(std::move(route.target));
    settings.routing.routes.push_back(std::move(rule));
  }
  if (!flags.config.empty()) {
    // Flags come first: their targets and routes precede the file's.
    RAG_TRY_ASSIGN(core::ListenConfig config,
                   core::load_listen_config(flags.config, resolve_secret_arg));
    for (auto& target : config.forward_to) {
      settings.routing.forward_to.push_back(std::move(target));
    }
    for (auto& rule : config.routes) {
      settings.routing.routes.push_back(std::move(rule));
    }
    settings.respond = config.respond;
  }
  if (!flags.respond.empty()) {
    RAG_TRY_ASSIGN(settings.respond, parse_respond(flags.respond));
  }
  for (const auto& text : flags.verify) {
    RAG_TRY_ASSIGN(core::SignatureSpec spec, core::parse_signature_spec(text, resolve_secret_arg));
    settings.verify.push_back(std::move(spec));
  }
  const bool any_route_verifies =
      std::any_of(settings.routing.routes.begin(), settings.routing.routes.end(),
                  [](const core::RouteRule& rule) { return !rule.verify.empty(); });
  if (flags.reject_invalid && settings.verify.empty() && !any_route_verifies) {
    return usage_error("--reject-invalid needs a signature to check",
                       "add --verify PROVIDER=SECRET, e.g. --verify github=env:GITHUB_SECRET");
  }
  settings.reject_invalid = flags.reject_invalid;
  RAG_TRY_ASSIGN(settings.delivery.timeout, parse_timeout_flag(flags.timeout));
  settings.delivery.retries = flags.retry;
  settings.delivery.ordered = flags.ordered;
  settings.delivery.insecure = flags.insecure;
  settings.delivery.preserve_host = flags.preserve_host;
  return settings;
}

Result<std::chrono::milliseconds>
parse_timeout_flag(std::string_view text)
{
  RAG_TRY_ASSIGN(const std::int64_t timeout_us, core::parse_duration_us(text));
  if (timeout_us < 1000) {
    return usage_error(fmt::format("invalid --timeout '{}': too short", text),
                       "use at least 1ms, e.g. --timeout 30s");
  }
  return std::chrono::milliseconds(timeout_us / 1000);
}

Result<long long>
parse_event_count(std::string_view flag, std::string_view text, long long min)
{
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const bool digits = !text.empty() && text.front() != '-' && ptr == end;
  if (digits && ec == std::errc::result_out_of_range) {
    return std::numeric_limits<long long>::max();
  }
  if (!digits || ec != std::errc() || value < min) {
    return usage_error(
        fmt::format("{} needs a number of events, {} or more, not '{}'", flag, min, text),
        fmt::format("e.g. {} {}", flag, std::max(min, 10LL)));
  }
  return value;
}

} // namespace rag::cli
