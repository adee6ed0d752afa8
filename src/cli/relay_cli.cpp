#include "cli/commands.hpp"
#include "commands/relay.hpp"
#include "core/duration.hpp"
#include "core/listen_address.hpp"
#include "util/units.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_relay_examples = R"(Examples:
  rag relay                               serve channels on http://127.0.0.1:3300
  rag relay --listen 0.0.0.0:8080 --public-url https://relay.example.com
                                          on every interface, behind a TLS proxy
  RAG_RELAY_TOKEN=s3cret rag relay --public-url https://relay.example.com
                                          subscribers need the token (publishing stays open)
  rag relay --sync-timeout 10s            senders wait for the tunnel's real answer
  rag relay --backlog 50000 --backlog-age 24h --backlog-bytes 512MiB
                                          keep more for tunnels that were offline

Routes: GET /new redirects to a fresh channel; any request to /CHANNEL or
/CHANNEL/sub/path publishes it (202 with the event id); GET /CHANNEL with
Accept: text/event-stream subscribes (rag tunnel, smee-client); a browser sees the
channel's page. Each channel keeps its recent events in memory, so a tunnel that
reconnects with Last-Event-ID gets what it missed. The backlog is lost when the
relay stops. An event a connected subscriber has not read is never dropped: past
the backlog bounds or --max-held, publishes get 503 with Retry-After until the
subscribers catch up (channels nobody subscribes to drop their oldest instead).
Put a TLS reverse proxy in front of it for the internet; see
docs/relay-protocol.md. Stop with Ctrl-C.)";

struct RelayArgs
{
  std::string listen;
  std::string public_url;
  std::string token;
  std::size_t backlog = 10000;
  std::string backlog_age = "1h";
  std::string backlog_bytes = "64MiB";
  std::string max_held = "512MiB";
  std::string max_body = "25MiB";
  std::string sync_timeout;
  std::string heartbeat = "15s";
  bool json = false;
};

// True when `text` names a port: "PORT", "HOST:PORT" or "[IPv6]:PORT".
bool
names_port(const std::string& text)
{
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;
  }
  if (!text.empty() && text.front() == '[') {
    return text.find("]:") != std::string::npos;
  }
  return std::count(text.begin(), text.end(), ':') == 1;
}

Result<std::chrono::milliseconds>
positive_duration(const std::string& text, const char* flag, const char* example)
{
  RAG_TRY_ASSIGN(const std::int64_t us, core::parse_duration_us(text));
  if (us < 1000) {
    return usage_error(fmt::format("invalid {} '{}': too short", flag, text),
                       fmt::format("use at least 1ms, e.g. {} {}", flag, example));
  }
  return std::chrono::milliseconds(us / 1000);
}

Result<commands::RelayOptions>
make_options(const RelayArgs& args)
{
  commands::RelayOptions options;
  if (!args.listen.empty()) {
    RAG_TRY_ASSIGN(const core::ListenAddress address, core::parse_listen_address(args.listen));
    options.host = address.host;
    options.port = names_port(args.listen) ? address.port : commands::k_relay_default_port;
  }
  if (!args.public_url.empty()) {
    const std::string& url = args.public_url;
    const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    const std::size_t host = url.find("//") + 2;
    if (!http || host >= url.size() || url[host] == '/' ||
        url.find_first_of("?# \t\r\n") != std::string::npos) {
      return usage_error(fmt::format("invalid --public-url '{}'", url),
                         "use the http(s) URL the relay is reached at, e.g. "
                         "https://relay.example.com");
    }
    options.public_url = url;
  }
  options.token = args.token;
  if (args.backlog < 1) {
    return usage_error("invalid --backlog 0", "keep at least 1 event per channel");
  }
  options.backlog.backlog_count = args.backlog;
  RAG_TRY_ASSIGN(const std::int64_t age_us, core::parse_duration_us(args.backlog_age));
  if (age_us < 1'000'000) {
    return usage_error(fmt::format("invalid --backlog-age '{}': too short", args.backlog_age),
                       "use at least 1s, e.g. --backlog-age 1h");
  }
  options.backlog.backlog_age_us = age_us;
  RAG_TRY_ASSIGN(const std::uint64_t bytes, util::parse_byte_size(args.backlog_bytes));
  if (bytes < 1024) {
    return usage_error(fmt::format("invalid --backlog-bytes '{}': too small", args.backlog_bytes),
                       "use at least 1KiB, e.g. --backlog-bytes 64MiB");
  }
  options.backlog.backlog_bytes = bytes;
  RAG_TRY_ASSIGN(const std::uint64_t held, util::parse_byte_size(args.max_held));
  if (held < 1024) {
    return usage_error(fmt::format("invalid --max-held '{}': too small", args.max_held),
                       "use at least 1KiB, e.g. --max-held 512MiB");
  }
  options.backlog.max_held = held;
  RAG_TRY_ASSIGN(options.max_body, util::parse_byte_size(args.max_body));
  if (!args.sync_timeout.empty()) {
    RAG_TRY_ASSIGN(options.sync_timeout,
                   positive_duration(args.sync_timeout, "--sync-timeout", "10s"));
  }
  RAG_TRY_ASSIGN(options.heartbeat, positive_duration(args.heartbeat, "--heartbeat", "15s"));
  options.json = args.json;
  return options;
}

} // namespace

Runner
add_relay(CLI::App& app)
{
  auto args = std::make_shared<RelayArgs>();
  CLI::App* sub = app.add_subcommand(
      "relay", "Serve channels that stream webhooks from the internet to `rag tunnel` clients");
  sub->footer(k_relay_examples);
  sub->add_option("--listen", args->listen,
                  "PORT, HOST:PORT or [IPv6]:PORT to listen on (default 127.0.0.1:3300)")
      ->option_text("ADDR:PORT");
  sub->add_option("--public-url", args->public_url,
                  "The URL the relay is reached at from outside, for channel URLs (default: "
                  "the bound address)")
      ->option_text("URL");
  sub->add_option("--token", args->token,
                  "Require this token to subscribe, see a channel page or post a reply "
                  "(Authorization: Bearer TOKEN or ?token=TOKEN); publishing stays open")
      ->envname("RAG_RELAY_TOKEN")
      ->option_text("TOKEN");
  sub->add_option("--backlog", args->backlog,
                  "Events kept per channel for subscribers that reconnect (default 10000)")
      ->option_text("N");
  sub->add_option("--backlog-age", args->backlog_age,
                  "Drop kept events older than this (default 1h)")
      ->option_text("DURATION");
  sub->add_option("--backlog-bytes", args->backlog_bytes,
                  "Memory kept per channel for its backlog (default 64MiB)")
      ->option_text("SIZE");
  sub->add_option("--max-held", args->max_held,
                  "Memory held for all channels together (default 512MiB); past it, or a "
                  "channel's backlog bounds, with events a subscriber has not read, "
                  "publishes get 503 with Retry-After")
      ->option_text("SIZE");
  sub->add_option("--max-body", args->max_body,
                  "Largest webhook body accepted; bigger ones get 413 (default 25MiB)")
      ->option_text("SIZE");
  sub->add_option("--sync-timeout", args->sync_timeout,
                  "Sync mode: hold each sender until a tunnel (rag tunnel --respond-back) "
                  "posts the local answer, 504 after this long")
      ->option_text("DURATION");
  sub->add_option("--heartbeat", args->heartbeat,
                  "Send subscribers a ping after this long without other events (default 15s)")
      ->option_text("DURATION");
  sub->add_flag("--json", args->json, "Print one JSON line per published webhook on stdout");

  return [args]() -> Result<int> {
    RAG_TRY_ASSIGN(const commands::RelayOptions options, make_options(*args));
    return commands::run_relay(options, terminal_console());
  };
}

} // namespace rag::cli
