#include "commands/listen.hpp"

#include "core/clock.hpp"
#include "core/event_log.hpp"
#include "core/id.hpp"
#include "core/record_json.hpp"
#include "net/capture_server.hpp"
#include "util/terminal.hpp"

#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <pthread.h>
#include <thread>

namespace rag::commands {

namespace {

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
  return fmt::format("{}  {} {}  {}  {}", util::colorize(clock, util::Color::gray, color),
                     util::colorize(util::terminal_safe(event.method), util::Color::bold, color),
                     util::terminal_safe(event.target), util::human_size(event.body.size()),
                     util::colorize(core::short_id(event.id), util::Color::cyan, color));
}

bool
status_has_body(int status)
{
  return status >= 200 && status != 204 && status != 304;
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
      m_signalled = true;
      server.stop();
    }).detach();
  }

  bool signalled() const { return m_signalled; }

private:
  sigset_t m_set{};
  std::atomic<bool> m_signalled{false};
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

  auto handler = [&](core::HttpRequest&& request, const net::Peer& peer) -> net::HttpResponse {
    core::Event event;
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

    net::HttpResponse response;
    response.status = options.respond_status;
    response.headers.emplace_back("Rag-Event-Id", event.id);
    if (status_has_body(response.status)) {
      response.headers.emplace_back("Content-Type", "application/json");
      response.body = fmt::format(R"({{"id":"{}"}})", event.id);
    }
    return response;
  };

  auto on_reject = [&](int status, const std::string& reason, const net::Peer& peer) {
    util::write_line(stderr, fmt::format("rag: rejected a request from {} with {}: {}", peer.remote,
                                         status, reason));
  };

  util::write_line(stderr, fmt::format("Ready! Capturing on {} (log: {}). Press Ctrl-C to stop.",
                                       server->url(), writer.path()));
  server->serve(handler, on_reject);
  util::write_line(stderr,
                   fmt::format("Stopped. {} event(s) captured this session.", captured.load()));
  return 0;
}

} // namespace rag::commands
