#include "commands/listen.hpp"

#include "commands/fanout.hpp"
#include "core/clock.hpp"
#include "core/event_log.hpp"
#include "core/event_view.hpp"
#include "core/id.hpp"
#include "core/record_json.hpp"
#include "net/capture_server.hpp"
#include "net/forward_client.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <pthread.h>
#include <thread>

namespace rag::commands {

namespace {

// How long Ctrl-C waits for deliveries still running or queued.
constexpr std::chrono::seconds k_drain_limit{10};

// Formats the one line per event that the terminal shows.
std::string
event_line(const core::Event& event, bool color)
{
  // Local wall-clock time, as the developer's other terminals show it.
  const std::time_t seconds = static_cast<std::time_t>(event.time_us / 1000000);
  std::tm local{};
  localtime_r(&seconds, &local);
  const std::string clock = fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min,
                                        local.tm_sec, (event.time_us / 1000) % 1000);
  std::string line =
      fmt::format("{}  {} {}  {}  {}", util::colorize(clock, util::Color::gray, color),
                  util::colorize(core::terminal_line(event.method), util::Color::bold, color),
                  core::terminal_line(event.target), util::human_size(event.body.size()),
                  util::colorize(core::short_id(event.id), util::Color::cyan, color));
  if (!event.verdict.empty()) {
    const util::Color verdict_color =
        event.verdict == "valid" ? util::Color::green : util::Color::red;
    line += "  " +
            util::colorize("signature " + core::terminal_line(event.verdict), verdict_color, color);
  }
  return line;
}

bool
status_has_body(int status)
{
  return status >= 200 && status != 204 && status != 304;
}

// The answer a sender gets when rag answers by itself (--respond STATUS, no target).
net::HttpResponse
own_response(int status, const std::string& event_id)
{
  net::HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Rag-Event-Id", event_id);
  if (status_has_body(status)) {
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = fmt::format(R"({{"id":"{}"}})", event_id);
  }
  return response;
}

// The answer relayed from the primary target, or 502 when it did not answer.
net::HttpResponse
primary_response(PrimaryOutcome&& outcome)
{
  net::HttpResponse response;
  if (outcome.response) {
    response.status = outcome.response->status;
    response.headers = core::strip_hop_by_hop(outcome.response->headers);
    response.body = std::move(outcome.response->body);
    return response;
  }
  response.status = 502;
  response.headers.emplace_back("Rag-Event-Id", outcome.record.event_id);
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = fmt::format(R"({{"error":"{}","target":"{}","id":"{}"}})",
                              core::json_escape(outcome.record.error),
                              core::json_escape(outcome.record.target), outcome.record.event_id);
  return response;
}

// Blocks SIGINT/SIGTERM in every thread and stops the server when one arrives.
class SignalStopper
{
public:
  explicit SignalStopper(net::CaptureServer& server)
  {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGINT);
    sigaddset(&m_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m_set, nullptr);
    std::thread([this, &server] {
      int signal = 0;
      sigwait(&m_set, &signal);
      server.stop();
    }).detach();
  }

private:
  sigset_t m_set{};
};

} // namespace

Result<int>
run_listen(const ListenOptions& options)
{
  auto warn = [](const std::string& message) {
    util::write_line(stderr, fmt::format("rag: warning: {}", message));
  };
  RAG_TRY_ASSIGN(core::EventLogWriter writer, core::EventLogWriter::open(options.log_path, warn));

  net::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.limits.max_body_bytes = options.max_body;
  RAG_TRY_ASSIGN(auto server, net::CaptureServer::bind(server_options));

  // The signal thread must exist before any other thread so that they all
  // inherit the blocked mask and only it receives SIGINT/SIGTERM.
  SignalStopper stopper(*server);

  core::SystemClock clock;
  core::RandomIdSource ids;
  const std::string source = "listen:" + server->address();
  const bool color = util::color_enabled(stdout);
  std::atomic<std::uint64_t> captured{0};

  net::ForwardClientOptions client_options;
  client_options.insecure = options.insecure;
  net::ForwardClient client(client_options);

  FanoutOptions fanout_options;
  fanout_options.timeout = options.timeout;
  fanout_options.retries = options.retries;
  fanout_options.ordered = options.ordered;
  fanout_options.preserve_host = options.preserve_host;
  auto on_delivery = [&](const core::Delivery& delivery) {
    util::write_line(stdout, options.json ? core::to_json_line(delivery)
                                          : fmt::format("  {}  {}",
                                                        core::render_delivery_line(delivery, color),
                                                        core::short_id(delivery.event_id)));
  };
  Fanout fanout(fanout_options, client, writer, clock, ids, on_delivery);
  // In --ordered mode the log order and the delivery order must be the same.
  std::mutex order_mutex;

  auto handler = [&](core::HttpRequest&& request, const net::Peer& peer) -> net::HttpResponse {
    const core::RoutingDecision decision =
        core::route_request(options.routing, request.method, request.target, request.headers);
    const core::RespondPolicy policy =
        options.respond ? *options.respond : decision.respond.value_or(core::RespondPolicy{});

    core::Event event;
    std::unique_lock order_lock(order_mutex, std::defer_lock);
    if (options.ordered) {
      order_lock.lock();
    }
    event.time_us = clock.now_us();
    event.id = ids.next("evt", event.time_us);
    event.source = source;
    event.remote = peer.remote;
    event.method = std::move(request.method);
    event.target = std::move(request.target);
    event.http_version = std::move(request.http_version);
    event.headers = std::move(request.headers);
    event.body = std::move(request.body);
    event.chunked = request.chunked;
    // Verification always runs on the body bytes exactly as received.
    const auto& specs = decision.verify.empty() ? options.verify : decision.verify;
    bool rejected = false;
    if (!specs.empty()) {
      const core::Verdict verdict =
          core::verify_any(specs, event.headers, event.body, event.time_us);
      event.verdict = verdict.text();
      rejected = options.reject_invalid && !verdict.is_valid();
    }

    const std::string line = core::to_json_line(event);
    if (auto written = writer.append(line); !written) {
      // Never acknowledge what is not in the log: the sender may retry.
      util::write_line(stderr, fmt::format("rag: error: {} ({})", written.error().message,
                                           written.error().hint));
      return {500,
              {{"Content-Type", "application/json"}},
              R"({"error":"rag could not write the event log"})"};
    }
    captured.fetch_add(1, std::memory_order_relaxed);
    util::write_line(stdout, options.json ? line : event_line(event, color));

    if (rejected) {
      return {401,
              {{"Rag-Event-Id", event.id}, {"Content-Type", "application/json"}},
              fmt::format(R"({{"error":"{}","id":"{}"}})",
                          core::json_escape("signature " + event.verdict), event.id)};
    }
    if (decision.destinations.empty()) {
      return own_response(policy.primary ? 200 : policy.status, event.id);
    }
    auto payload = std::make_shared<Payload>();
    payload->event_id = event.id;
    payload->method = std::move(event.method);
    payload->target = std::move(event.target);
    payload->headers = std::move(event.headers);
    payload->body = std::make_shared<const std::string>(std::move(event.body));
    payload->context =
        core::ForwardContext{core::remote_ip_of(peer.remote), "http", options.preserve_host};
    auto primary = fanout.dispatch(std::move(payload), decision.destinations, policy.primary);
    if (order_lock.owns_lock()) {
      order_lock.unlock();
    }
    if (!policy.primary) {
      return own_response(policy.status, event.id);
    }
    return primary_response(primary.get());
  };

  auto on_reject = [&](int status, const std::string& reason, const net::Peer& peer) {
    util::write_line(stderr, fmt::format("rag: rejected a request from {} with {}: {}", peer.remote,
                                         status, reason));
  };

  util::write_line(stderr, fmt::format("Ready! Capturing on {} (log: {}). Press Ctrl-C to stop.",
                                       server->url(), writer.path()));
  for (const auto& target : options.routing.forward_to) {
    util::write_line(stderr, fmt::format("  forwarding every request to {}", target.url));
  }
  for (const auto& spec : options.verify) {
    util::write_line(stderr, fmt::format("  verifying {} signatures{}", core::spec_label(spec),
                                         options.reject_invalid ? " (rejecting invalid)" : ""));
  }
  for (const auto& rule : options.routing.routes) {
    for (const auto& target : rule.targets) {
      util::write_line(stderr, fmt::format("  {} → {}", rule.name, target.url));
    }
  }
  server->serve(handler, on_reject);
  const std::size_t left = fanout.drain(k_drain_limit);
  if (left > 0) {
    util::write_line(stderr, fmt::format("rag: warning: {} deliveries were not finished; their "
                                         "events are in the log",
                                         left));
  }
  util::write_line(stderr,
                   fmt::format("Stopped. {} event(s) captured this session.", captured.load()));
  return 0;
}

} // namespace rag::commands
