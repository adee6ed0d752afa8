#include "commands/tunnel.hpp"

#include "core/clock.hpp"
#include "core/id.hpp"
#include "core/log/writer.hpp"
#include "core/signature.hpp"
#include "engine/channel_url.hpp"
#include "engine/handled_ids.hpp"
#include "engine/stop_signal.hpp"
#include "engine/tunnel.hpp"
#include "net/forward_client.hpp"
#include "net/sse_client.hpp"
#include "util/line_output.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <utility>

namespace rag::commands {

Result<int>
run_tunnel(const TunnelOptions& options, engine::Console& console)
{
  auto warn = [&console](const std::string& message) { console.warning(message); };
  RAG_TRY_ASSIGN(core::EventLogWriter writer, core::EventLogWriter::open(options.log_path, warn));

  // Before any other thread exists, so that they all inherit the blocked signals.
  // Ctrl-C stops first the stream (while a channel is being set up), then the tunnel.
  engine::StopSignal signals;
  engine::Stop& stop_request = signals.stop();

  net::SseClientOptions stream_options;
  stream_options.insecure = options.pipeline.delivery.insecure;
  stream_options.read_timeout = options.read_timeout;
  net::SseClient stream(stream_options);
  stop_request.on_stop([&stream] { stream.stop(); });
  // Whatever way this function returns, a late signal must not act on what is gone.
  struct ClearStop
  {
    engine::Stop& request;
    ~ClearStop() { request.on_stop({}); }
  } clear_stop{stop_request};

  const bool color = console.err_color();
  std::string channel_text = options.channel_url;
  if (channel_text.empty()) {
    for (int failures = 1;; ++failures) {
      const core::NewChannel answer = stream.new_channel(options.relay_url);
      if (!answer.url.empty()) {
        channel_text = answer.url;
        break;
      }
      if (answer.reached) {
        return error(answer.error, "pass a channel URL, or another --relay");
      }
      const auto delay = engine::tunnel_backoff(failures, engine::tunnel_random01());
      console.err(fmt::format("Cannot reach the relay: {}. Retrying in {}...", answer.error,
                              engine::format_delay(delay)));
      if (stop_request.wait_for(delay)) {
        return 0;
      }
    }
  }
  auto channel = engine::parse_channel_url(channel_text);
  if (!channel) {
    if (options.channel_url.empty()) {
      return error(fmt::format("{} gave a channel URL rag cannot use: {}", options.relay_url,
                               channel.error().message));
    }
    return channel.error();
  }
  const std::string source = "tunnel:" + channel->display;
  RAG_TRY_ASSIGN(const std::string logged_id,
                 engine::find_resume_id(writer.path(), source, console));
  // The state file also knows where a run that received nothing had connected.
  const std::string state_path = engine::tunnel_state_path(writer.path(), channel->display);
  const std::string resume_id = engine::later_resume_id(
      logged_id, engine::read_tunnel_state(state_path, channel->display, warn));

  core::SystemClock clock;
  core::RandomIdSource ids;
  net::ForwardClientOptions client_options;
  client_options.insecure = options.pipeline.delivery.insecure;
  client_options.max_idle_per_target = engine::k_pipeline_workers_per_target;
  net::ForwardClient client(client_options);
  engine::PipelineOptions pipeline_options = options.pipeline;
  pipeline_options.color = console.out_color();
  // Always ordered: a backlog caught up on after a reconnect or a restart arrives in one
  // burst, and parallel deliveries to one target would reorder it (README: "once and in
  // order"). One delivery in flight per target; different targets still run in parallel.
  pipeline_options.delivery.ordered = true;
  // Event and delivery lines: one write() each on a terminal, batched into one write()
  // per delay when stdout is a file or a pipe. Its thread starts after the stopper's
  // (so it inherits the blocked signals), and it outlives the pipeline, the tunnel and
  // their threads that print through it.
  util::LineOutput out(STDOUT_FILENO);
  engine::CapturePipeline pipeline(std::move(pipeline_options), client, writer, clock, ids, console,
                                   [&out](const std::string& line) { out.write(line); });

  if (options.channel_url.empty()) {
    console.err(fmt::format("New channel: {}  (point your webhooks here)",
                            util::colorize(channel->display, util::Color::bold, color)));
  }
  const auto& routing = options.pipeline.routing;
  std::string targets;
  for (const auto& target : routing.forward_to) {
    targets += (targets.empty() ? "" : ", ") + target.url;
  }
  if (targets.empty()) {
    targets = routing.routes.empty() ? "nowhere (capturing only)" : "the routes below";
  }
  console.err(fmt::format("Forwarding {} to {} (log: {}). Press Ctrl-C to stop.", channel->display,
                          targets, writer.path()));
  for (const auto& rule : routing.routes) {
    for (const auto& target : rule.targets) {
      console.err(fmt::format("  {} → {}", rule.name, target.url));
    }
  }
  for (const auto& spec : options.pipeline.verify) {
    console.err(fmt::format("  verifying {} signatures{}", core::spec_label(spec),
                            options.pipeline.reject_invalid ? " (not forwarding invalid)" : ""));
  }
  if (options.respond_back) {
    console.err("  answering the relay with the local service's responses");
  }

  engine::TunnelConfig config;
  config.channel = *channel;
  config.token = options.token;
  config.resume_id = resume_id;
  config.state_path = state_path;
  config.respond_back = options.respond_back;
  config.preserve_host = options.pipeline.delivery.preserve_host;
  engine::Tunnel tunnel(std::move(config), stream, pipeline, console);
  stop_request.on_stop([&tunnel] { tunnel.stop(); });
  Result<int> outcome = tunnel.run();
  stop_request.on_stop([&stream] { stream.stop(); }); // the tunnel goes before the stream
  // run() drained the deliveries: their lines are out before the last message.
  out.flush();
  if (!outcome) {
    return outcome;
  }
  const std::uint64_t skipped = tunnel.skipped();
  console.err(
      fmt::format("Stopped. {} webhook(s) received this session{}.", tunnel.received(),
                  skipped > 0 ? fmt::format(" ({} repeat(s) skipped)", skipped) : std::string()));
  return outcome;
}

} // namespace rag::commands
