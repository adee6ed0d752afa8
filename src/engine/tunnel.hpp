#pragma once

// `rag tunnel`: the local half of a tunnel. It subscribes to a relay channel (rag
// relay, smee.io or gosmee), captures every webhook into the local log and forwards it
// with the same pipeline as `rag listen`, resuming after the last event it holds.

#include "core/event_stream.hpp"
#include "core/http_request.hpp"
#include "core/relay_message.hpp"
#include "core/sse.hpp"
#include "engine/capture_pipeline.hpp"
#include "engine/channel_url.hpp"
#include "engine/console.hpp"
#include "engine/handled_ids.hpp"
#include "util/result.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace rag::engine {

// Uniform in [0, 1): the jitter of the tunnel's reconnect backoff.
double tunnel_random01();

// The wait before reconnect number `failures` (1, 2, ...): 250 ms doubling up to 10 s,
// with jitter from `random01`, or the relay's Retry-After in `response_headers`.
std::chrono::milliseconds tunnel_backoff(int failures, double random01,
                                         const core::Headers& response_headers = {});

// Return `delay` as "1.5s" for the tunnel's messages.
std::string format_delay(std::chrono::milliseconds delay);

// Return the request a relayed webhook is captured as: method, raw target, version,
// headers and body as the relay carried them; `chunked` when its headers say it came
// chunked (the relay carries the de-chunked body).
core::HttpRequest to_http_request(core::RelayedRequest&& relayed);

// What a Tunnel needs besides its relay and pipeline.
struct TunnelConfig
{
  engine::ChannelUrl channel;
  std::string token;     // for subscribing and replies; may be empty
  std::string resume_id; // where the previous run stopped (log or state file); may be empty
  // Where the resume point is kept between runs (engine::tunnel_state_path); empty: nowhere.
  std::string state_path;
  bool respond_back = false; // post the local answer to each message's reply path
  bool preserve_host = false;
  std::size_t max_pending = 1024; // deliveries in flight before reading pauses
  std::size_t max_replies = 32;   // sync-mode answers awaited at once
};

// Ways to watch or speed up a Tunnel in tests; unset members get real behaviour.
struct TunnelHooks
{
  // Wait this long before reconnecting; return false when stopped meanwhile. The
  // default waits on a condition that stop() interrupts.
  std::function<bool(std::chrono::milliseconds)> sleep;
  // Uniform in [0, 1), for the backoff's jitter.
  std::function<double()> random01;
  // The time now (default: std::chrono::steady_clock).
  std::function<std::chrono::steady_clock::time_point()> now;
};

// The tunnel's work: subscribe, turn each message into a captured and forwarded event,
// skip repeats, answer the relay in sync mode, and reconnect with backoff, resuming
// after the last handled id.
class Tunnel
{
public:
  // Connection states and warnings go to `console`.
  Tunnel(TunnelConfig config, core::EventStream& stream, engine::CapturePipeline& pipeline,
         engine::Console& console, TunnelHooks hooks = {});
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // Run until stop() (then drain in-flight deliveries, bounded by `drain_limit`, and
  // return 0) or until the relay refuses the subscription for good (401, 403, 404, ...:
  // an Error).
  Result<int> run(std::chrono::milliseconds drain_limit = std::chrono::seconds(10));

  // Make run() return: the stream is aborted and waits are cut short. Safe to call
  // from any thread.
  void stop();

  // Messages captured into the log since the start.
  std::uint64_t received() const;
  // Messages skipped as already handled.
  std::uint64_t skipped() const;

private:
  struct Replies;
  enum class Outcome { handled, skipped, abort };

  bool stopping() const;
  bool on_bytes(std::string_view bytes);
  Outcome on_message(const core::SseEvent& event);
  bool handle_request(core::RelayedRequest&& relayed, const std::string& id);
  void send_reply(const std::string& url, const std::string& event_id,
                  engine::SenderResponse answer);
  bool wait(std::chrono::milliseconds delay);
  void save_state();
  bool gap_is_restart(const std::string& after) const;
  std::chrono::steady_clock::time_point now() const;

  TunnelConfig m_config;
  core::EventStream& m_stream;
  engine::CapturePipeline& m_pipeline;
  engine::Console& m_console;
  TunnelHooks m_hooks;
  std::string m_source;

  // Reader-thread state, for the connection in progress and across reconnects.
  std::unique_ptr<core::SseParser> m_parser;
  std::string m_resume_id; // sent as Last-Event-ID on the next connection
  std::string m_prev_id;   // the id of the previous event on this connection
  engine::HandledIds m_handled;
  std::string m_abort_reason; // why the reader dropped the connection
  std::uint64_t m_connection_messages = 0;
  std::uint64_t m_connection_events = 0;              // SSE events since `ready` on this connection
  bool m_got_ready = false;                           // this connection's `ready` arrived
  std::chrono::steady_clock::time_point m_last_bytes; // when the stream last sent something
  std::string m_requested_id;                         // the Last-Event-ID this connection asked for
  // The last connection that opened was ended by the relay while the tunnel was reading
  // it, and the relay could not be reached after that: the relay went down.
  bool m_closed_by_relay = false;
  bool m_unreachable_since_close = false;
  bool m_relay_restarted = false; // both held when this connection was made
  std::string m_saved_id;         // the resume point last written to the state file
  bool m_state_warned = false;
  std::uint64_t m_received = 0;
  std::uint64_t m_skipped = 0;

  mutable std::mutex m_mutex;
  std::condition_variable m_stop_changed;
  bool m_stopping = false;
  std::unique_ptr<Replies> m_replies;
};

} // namespace rag::engine
