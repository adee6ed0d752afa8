#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "commands/tunnel.hpp"
#include "core/duration.hpp"
#include "engine/channel_url.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace rag::cli {

namespace {

constexpr const char* k_tunnel_examples = R"(Examples:
  rag tunnel -f 3000                      new smee.io channel, webhooks to http://127.0.0.1:3000
  rag tunnel https://smee.io/AbC123 -f 3000/webhooks
                                          an existing smee.io channel
  rag tunnel https://relay.example.com/team-a --route /github=3001 --route /stripe=3002
                                          a rag relay; one service per provider
  rag tunnel -f 3000 --relay https://relay.example.com
                                          a new channel on your own rag relay
  RAG_RELAY_TOKEN=s3cret rag tunnel https://relay.example.com/team-a -f 3000 --respond-back
                                          a protected relay in sync mode: senders get the
                                          local service's answer
  rag tunnel https://smee.io/AbC123 -f 3000 --verify github=env:GITHUB_WEBHOOK_SECRET

The tunnel holds one outbound connection to a relay (rag relay, smee.io or gosmee) and
captures each webhook into the event log (source tunnel:URL) before forwarding it exactly
like `rag listen` (targets, routes, --config, --retry), always in order per target (as
--ordered). It only ever sends to the targets given here. Connection drops are retried
with backoff, and on reconnect or restart the tunnel resumes (Last-Event-ID) from where
it left off, kept in its log and in tunnel/CHANNEL.json beside the log, so a rag relay's
backlog fills the gap, even for a run that received nothing; repeats are skipped.
Targets: PORT, HOST:PORT[/PATH] or an http(s) URL, as for `rag listen` (docs/config.md).
Stop with Ctrl-C. Look at what came through with `rag inspect`.)";

struct TunnelArgs
{
  std::string channel;
  std::string log;
  ForwardFlags forwarding;
  bool respond_back = false;
  std::string relay;
  std::string token;
  std::string read_timeout = "90s";
  bool json = false;
};

Result<commands::TunnelOptions>
make_options(const TunnelArgs& args)
{
  commands::TunnelOptions options;
  if (!args.channel.empty()) {
    RAG_TRY(engine::parse_channel_url(args.channel));
    options.channel_url = args.channel;
    if (!args.relay.empty()) {
      return usage_error("--relay is for asking a relay for a new channel",
                         "leave it out: the channel URL names its relay");
    }
  } else if (!args.relay.empty()) {
    RAG_TRY_ASSIGN(options.relay_url, engine::parse_relay_url(args.relay));
  }
  RAG_TRY_ASSIGN(options.pipeline, parse_forward_flags(args.forwarding));
  options.pipeline.json = args.json;
  options.respond_back = args.respond_back;
  options.token = args.token;
  RAG_TRY_ASSIGN(const std::int64_t read_timeout_us, core::parse_duration_us(args.read_timeout));
  if (read_timeout_us < 100'000) {
    return usage_error(fmt::format("invalid --read-timeout '{}': too short", args.read_timeout),
                       "use at least 100ms; it must exceed the relay's heartbeat, e.g. 90s");
  }
  options.read_timeout = std::chrono::milliseconds(read_timeout_us / 1000);
  options.log_path = resolve_log_path(args.log);
  return options;
}

} // namespace

Runner
add_tunnel(CLI::App& app)
{
  auto args = std::make_shared<TunnelArgs>();
  CLI::App* sub = app.add_subcommand(
      "tunnel", "Receive webhooks from a relay channel (rag relay, smee.io) and forward them");
  sub->footer(k_tunnel_examples);
  sub->add_option("CHANNEL_URL", args->channel,
                  "The relay channel to receive from (default: a new channel from --relay)");
  add_forward_flags(*sub, args->forwarding, ForwardCommand::tunnel);
  sub->add_flag("--respond-back", args->respond_back,
                "Post each local answer back to the relay, which gives it to the sender "
                "(rag relay --sync-timeout)");
  sub->add_option("--relay", args->relay,
                  "Relay to ask for a new channel when no CHANNEL_URL is given "
                  "(default https://smee.io)")
      ->option_text("URL");
  sub->add_option("--token", args->token,
                  "Token the relay wants for subscribing and replies (env RAG_RELAY_TOKEN)")
      ->envname("RAG_RELAY_TOKEN")
      ->option_text("TOKEN");
  sub->add_option("--read-timeout", args->read_timeout,
                  "Reconnect when the relay sends nothing, not even a heartbeat, for this long "
                  "(default 90s)")
      ->option_text("DURATION");
  sub->add_flag("--json", args->json, "Print event and delivery records as JSON lines on stdout");
  add_log_option(*sub, args->log);

  return [args]() -> Result<int> {
    RAG_TRY_ASSIGN(const commands::TunnelOptions options, make_options(*args));
    return commands::run_tunnel(options, terminal_console());
  };
}

} // namespace rag::cli
