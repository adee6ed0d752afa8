#include "commands/listen.hpp"

#include "core/clock.hpp"
#include "core/id.hpp"
#include "core/log/writer.hpp"
#include "engine/capture_pipeline.hpp"
#include "engine/stop_signal.hpp"
#include "net/capture_server.hpp"
#include "net/forward_client.hpp"
#include "util/line_output.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <cstdio>

namespace rag::commands {

namespace {

// How long Ctrl-C waits for deliveries still running or queued.
constexpr std::chrono::seconds k_drain_limit{10};

} // namespace

Result<int>
run_listen(const ListenOptions& options, engine::Console& console)
{
  auto warn = [&console](const std::string& message) { console.warning(message); };
  RAG_TRY_ASSIGN(core::EventLogWriter writer, core::EventLogWriter::open(options.log_path, warn));

  net::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.limits.max_body_bytes = options.max_body;
  RAG_TRY_ASSIGN(auto server, net::CaptureServer::bind(server_options));

  // The signal thread must exist before any other thread so that they all
  // inherit the blocked mask and only it receives SIGINT/SIGTERM.
  engine::StopSignal signals;
  signals.stop().on_stop([&server] { server->stop(); });

  core::SystemClock clock;
  core::RandomIdSource ids;
  const std::string source = "listen:" + server->address();

  net::ForwardClientOptions client_options;
  client_options.insecure = options.pipeline.delivery.insecure;
  client_options.max_idle_per_target = engine::k_pipeline_workers_per_target;
  net::ForwardClient client(client_options);

  engine::PipelineOptions pipeline_options = options.pipeline;
  pipeline_options.color = console.out_color();
  // Event and delivery lines: one write() each on a terminal, batched into one write()
  // per delay when stdout is a file or a pipe. Its thread starts after the stopper's
  // (so it inherits the blocked signals), and it outlives the pipeline and the server
  // threads that print through it.
  util::LineOutput out(STDOUT_FILENO);
  engine::CapturePipeline pipeline(std::move(pipeline_options), client, writer, clock, ids, console,
                                   [&out](const std::string& line) { out.write(line); });

  auto handler = [&](core::HttpRequest&& request, const net::Peer& peer) -> net::HttpResponse {
    engine::CaptureOrigin origin;
    origin.source = source;
    origin.remote = peer.remote;
    origin.context = core::ForwardContext{core::remote_ip_of(peer.remote), "http",
                                          options.pipeline.delivery.preserve_host};
    engine::SenderResponse answer = pipeline.handle(std::move(request), origin);
    net::HttpResponse response{answer.status, std::move(answer.headers), std::move(answer.body)};
    // The primary's delivery record is written once the sender has its answer.
    response.after_send = std::move(answer.after_answer);
    return response;
  };

  // A request the server refused is an event too (with what was read of it), so that the
  // log says what its sender was answered; it is in the log before the answer is written.
  auto on_reject = [&](const net::Rejection& rejection, const net::Peer& peer) {
    console.err(fmt::format("rag: rejected a request from {} with {}: {}", peer.remote,
                            rejection.status, rejection.reason));
    if (!rejection.refused) {
      return; // a handler failure: the request was the pipeline's, which logged it or not
    }
    engine::CaptureOrigin origin;
    origin.source = source;
    origin.remote = peer.remote;
    core::HttpRequest request = rejection.request;
    pipeline.record_refused(std::move(request), origin,
                            core::Rejection{rejection.status, rejection.reason,
                                            static_cast<std::uint64_t>(rejection.body_bytes)});
  };

  console.err(fmt::format("Ready! Capturing on {} (log: {}). Press Ctrl-C to stop.", server->url(),
                          writer.path()));
  for (const auto& target : options.pipeline.routing.forward_to) {
    console.err(fmt::format("  forwarding every request to {}", target.url));
  }
  for (const auto& spec : options.pipeline.verify) {
    console.err(fmt::format("  verifying {} signatures{}", core::spec_label(spec),
                            options.pipeline.reject_invalid ? " (rejecting invalid)" : ""));
  }
  for (const auto& rule : options.pipeline.routing.routes) {
    for (const auto& target : rule.targets) {
      console.err(fmt::format("  {} → {}", rule.name, target.url));
    }
  }
  server->serve(handler, on_reject);
  const std::size_t left = pipeline.drain(k_drain_limit);
  // The lines of the deliveries that finished while draining are out before "Stopped.".
  out.flush();
  if (left > 0) {
    console.warning(
        fmt::format("{} deliveries were not finished; their events are in the log", left));
  }
  console.err(
      fmt::format("Stopped. {} event(s) captured this session.", pipeline.captured_count()));
  return 0;
}

} // namespace rag::commands
