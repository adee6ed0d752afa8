#pragma once

// The connection `rag tunnel` holds to a relay: an event stream to subscribe to, the
// relay's `/new` route and sync-mode replies. net/sse_client implements it on
// cpp-httplib; tests pass fakes.

#include "util/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace rag::core {

// What to subscribe to.
struct StreamRequest
{
  std::string url;           // the channel URL, http:// or https://
  std::string last_event_id; // sent as Last-Event-ID when not empty
  std::string token;         // sent as Authorization: Bearer TOKEN when not empty
};

// How a subscription ended.
struct StreamEnd
{
  enum class Kind {
    stopped, // stop() was called, or the byte callback asked to stop
    closed,  // the relay ended a stream it had opened
    failed,  // no stream: connection error, timeout, TLS, not an event stream
    refused, // the relay answered with a status other than 200
  };
  Kind kind = Kind::closed;
  int status = 0;      // the relay's status when refused
  std::string message; // for people: "connection refused", "the relay answered 404: ..."
  bool opened = false; // a stream was open (200 with text/event-stream) before it ended
};

// The answer to a request for a new channel.
struct NewChannel
{
  std::string url;      // the new channel's URL; empty when there is none
  std::string error;    // why there is none
  bool reached = false; // the relay answered (asking again will not help)
};

// A relay as the tunnel sees it. Implementations may be used from several threads
// (subscribe on one, post on others, stop from a signal thread).
class EventStream
{
public:
  // Called once the relay answered 200 with an event stream.
  using OpenFn = std::function<void()>;
  // Receives the stream's bytes as they arrive, in any split; false stops the stream.
  using BytesFn = std::function<bool(std::string_view)>;

  virtual ~EventStream() = default;

  // Open the event stream at `request.url` and pass its bytes to `on_bytes` until the
  // relay closes it, it fails (including no bytes within the read timeout, which must
  // exceed the relay's heartbeat), `on_bytes` returns false or stop() is called.
  virtual StreamEnd subscribe(const StreamRequest& request, const OpenFn& on_open,
                              const BytesFn& on_bytes) = 0;

  // Abort the subscription in progress and make every later subscribe() return
  // `stopped` at once. Safe to call from any thread, more than once.
  virtual void stop() = 0;

  // Ask the relay at `relay_url` for a new channel: GET RELAY/new without following the
  // redirect; the channel is the Location (resolved against `relay_url` when relative).
  virtual NewChannel new_channel(const std::string& relay_url) = 0;

  // POST `json` (application/json) to `url` with the bearer `token` when not empty and
  // return the relay's status; no answer is an Error.
  virtual Result<int> post_json(const std::string& url, const std::string& token,
                                std::string_view json) = 0;
};

} // namespace rag::core
