#pragma once

#include "core/http_request.hpp"
#include "util/deferred_task.hpp"
#include "util/result.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace rag::net {

struct ServerOptions
{
  std::string host = "127.0.0.1"; // IPv4 or IPv6 literal, or "localhost"
  int port = 7777;                // 0 = kernel picks
  core::HttpLimits limits;
  int header_timeout_s = 30; // a head must arrive within this once its first byte
                             // came; also the longest pause inside a body
  // A body must also keep an average pace: it may take header_timeout_s plus one second
  // per this many bytes received (as Apache's mod_reqtimeout MinRate), so a peer that
  // drips a byte now and then cannot hold a connection slot for ever. 0 = no pace.
  std::size_t min_body_rate = 1024;
  int idle_timeout_s = 75;  // idle keep-alive connections are closed after this
  int write_timeout_s = 30; // a peer that takes no response bytes this long is dropped
  std::size_t max_connections = 4096;
  // Connections one peer address may hold at once (0 = no limit); more are closed as
  // they come, so one host cannot take every slot of a public server.
  std::size_t max_connections_per_peer = 0;
};

// Sends the body of a streaming response (HttpResponse::stream) as it is produced.
class StreamWriter
{
public:
  virtual ~StreamWriter() = default;
  // Send `bytes` now (one chunk); false once the peer is gone, a write waited longer than
  // the server's write timeout or the server is stopping: the stream should then return.
  virtual bool write(std::string_view bytes) = 0;
  // True once the server is stopping; a stream must then return promptly.
  virtual bool stopping() const = 0;
  // False once the peer has closed or reset the connection (checked without blocking).
  virtual bool peer_open() = 0;
};

// What a handler sends back.
struct HttpResponse
{
  int status = 200;
  core::Headers headers; // in order; the server adds Content-Length and Connection and
                         // drops the handler's framing headers and any holding CR/LF/NUL
  std::string body;
  // When set, `body` is ignored: the server sends the head with `Transfer-Encoding:
  // chunked` (raw bytes to HTTP/1.0) and `Connection: close`, then calls `stream` on the
  // connection thread; the connection closes when it returns. Not called for HEAD.
  std::function<void(StreamWriter&)> stream = {};
  // Run on the connection thread once the response has been written (or could not be),
  // before the connection's next request is read: work the sender need not wait for.
  util::DeferredTask after_send = {};
};

// Peer and local addresses as "IP:PORT" / "[IPv6]:PORT", from the socket itself.
struct Peer
{
  std::string remote;
  std::string local;
};

// A request the server answered itself instead of with the handler's response.
struct Rejection
{
  int status = 0;     // what the peer was answered: 400, 408, 413, 431, 501, 505 or 500
  std::string reason; // the reason sent in the answer's body
  // True when the request never reached the handler (a parse error or a timeout);
  // false for a handler that failed (500) after it had the request.
  bool refused = true;
  // When refused: what had been read of the request, never its body. Method, target and
  // version are set once the request line was read, and headers are those read before
  // the refusal (so at most the head limit of bytes); all empty when nothing could be read.
  core::HttpRequest request;
  std::size_t body_bytes = 0; // when refused: body bytes read (de-chunked) and dropped
};

// A byte-exact HTTP/1.x server built for capture: one thread per connection
// (idle keep-alive clients never starve new ones), TCP_NODELAY, backlog 511,
// SO_REUSEADDR without SO_REUSEPORT (a busy port is an error, never shared),
// any method, pipelining, 100-continue, bounded head (431) and body (413).
class CaptureServer
{
public:
  using Handler = std::function<HttpResponse(core::HttpRequest&&, const Peer&)>;
  // Told about requests answered without the handler's response: parse errors
  // (400/413/431/501/505), head/body timeouts (408) and handler failures (500), before
  // the answer is written. Called on connection threads, concurrently.
  using RejectFn = std::function<void(const Rejection&, const Peer&)>;

  // Bind and listen; a bad address or a port in use is an Error naming it.
  static Result<std::unique_ptr<CaptureServer>> bind(const ServerOptions& options);
  ~CaptureServer();

  // The bound address as a URL, e.g. "http://127.0.0.1:7777" or "http://[::1]:7777".
  std::string url() const;
  // The bound "HOST:PORT" ("[::1]:PORT" for IPv6).
  std::string address() const;
  int port() const;

  // Serve until stop(), calling `handler` concurrently from one thread per
  // connection; returns after in-flight requests finished (bounded wait, 10 s).
  void serve(Handler handler, RejectFn on_reject = {});
  // Stop accepting, let in-flight requests finish, close idle connections.
  // Safe to call from any thread (not from a signal handler), more than once.
  void stop();

private:
  struct Impl;
  explicit CaptureServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace rag::net
