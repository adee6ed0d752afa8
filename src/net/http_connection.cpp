#include "net/http_connection.hpp"

#include "util/http_status.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <iterator>
#include <string_view>
#include <utility>

namespace rag::net::detail {

namespace {

using Clock = std::chrono::steady_clock;
using State = core::HttpRequestParser::State;

constexpr std::size_t k_read_size = 64 * 1024;
// After an error answer the peer may still be sending; reading it for a moment lets
// the answer arrive instead of being destroyed by a reset (a "lingering close").
constexpr auto k_linger = std::chrono::seconds(2);
constexpr int k_linger_quiet_ms = 500; // ...ending early once the peer goes quiet
constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

int
timeout_ms(int seconds)
{
  return seconds > 0 ? seconds * 1000 : -1;
}

Peer
peer_of(int fd)
{
  Peer peer;
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    peer.remote = format_endpoint(storage);
  }
  storage = {};
  length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    peer.local = format_endpoint(storage);
  }
  return peer;
}

bool
iequals_lower(std::string_view text, std::string_view lower)
{
  if (text.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != lower[i]) {
      return false;
    }
  }
  return true;
}

// Framing headers are the server's alone, and a name or value that could split the
// head (CR, LF, NUL, e.g. from a forwarded response) must never reach the wire.
bool
sendable_header(const core::Header& header)
{
  const auto& [name, value] = header;
  if (name.empty() || iequals_lower(name, "content-length") || iequals_lower(name, "connection") ||
      iequals_lower(name, "transfer-encoding")) {
    return false;
  }
  for (char c : name) {
    if (c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

HttpResponse
json_error(int status, std::string_view reason)
{
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = fmt::format(R"({{"error":"{}"}})", reason);
  return response;
}

enum class Wait { readable, woken, timeout, failed };

// Wait until `fd` is readable; also watch `wake_fd` (when >= 0) for stop().
Wait
wait_readable(int fd, int wake_fd, int timeout)
{
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  const nfds_t count = wake_fd >= 0 ? 2 : 1;
  while (true) {
    const int rc = ::poll(fds, count, timeout);
    if (rc < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Wait::failed;
    }
    if (rc == 0) {
      return Wait::timeout;
    }
    // A request already waiting in the socket is served even while stopping.
    if (fds[0].revents != 0) {
      return Wait::readable;
    }
    return Wait::woken;
  }
}

// Send every byte of `iov` with one sendmsg in the common case; MSG_NOSIGNAL keeps a
// vanished peer from raising SIGPIPE. A peer that takes nothing for `write_timeout`
// ms fails the send, and so does stop() when `wake_fd` >= 0.
bool
send_all(int fd, iovec* iov, int count, int write_timeout, int wake_fd = -1)
{
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = static_cast<std::size_t>(count);
  while (message.msg_iovlen > 0) {
    const ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_fd, POLLIN, 0}};
        const nfds_t watched = wake_fd >= 0 ? 2 : 1;
        int rc = 0;
        do {
          rc = ::poll(fds, watched, write_timeout);
        } while (rc < 0 && errno == EINTR);
        if (rc <= 0 || (fds[0].revents & (POLLERR | POLLHUP)) != 0 || fds[1].revents != 0) {
          return false;
        }
        continue;
      }
      return false;
    }
    auto left = static_cast<std::size_t>(sent);
    while (message.msg_iovlen > 0 && left >= message.msg_iov->iov_len) {
      left -= message.msg_iov->iov_len;
      ++message.msg_iov;
      --message.msg_iovlen;
    }
    if (message.msg_iovlen > 0) {
      message.msg_iov->iov_base = static_cast<char*>(message.msg_iov->iov_base) + left;
      message.msg_iov->iov_len -= left;
    }
  }
  return true;
}

// The body of a streaming response: chunked for HTTP/1.1, raw bytes for HTTP/1.0
// (where the closing connection ends the body).
class ChunkWriter final : public StreamWriter
{
public:
  ChunkWriter(int fd, const ServerShared& shared, bool chunked)
      : m_fd(fd), m_shared(shared), m_chunked(chunked)
  {}

  bool write(std::string_view bytes) override
  {
    if (m_failed || stopping()) {
      m_failed = true;
      return false;
    }
    if (bytes.empty()) {
      return true; // an empty chunk would end the body
    }
    char size_line[24];
    const auto end = fmt::format_to_n(size_line, sizeof size_line, "{:x}\r\n", bytes.size()).out;
    static constexpr char k_crlf[] = "\r\n";
    iovec iov[3] = {{size_line, static_cast<std::size_t>(end - size_line)},
                    {const_cast<char*>(bytes.data()), bytes.size()},
                    {const_cast<char*>(k_crlf), 2}};
    iovec* first = m_chunked ? iov : iov + 1;
    const int count = m_chunked ? 3 : 1;
    if (!send_all(m_fd, first, count, timeout_ms(m_shared.options.write_timeout_s),
                  m_shared.wake_read)) {
      m_failed = true;
    }
    return !m_failed;
  }

  bool stopping() const override { return m_shared.stopping.load(std::memory_order_relaxed); }

  bool peer_open() override
  {
    if (m_failed) {
      return false;
    }
    pollfd fd{m_fd, POLLRDHUP, 0};
    if (::poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      return false;
    }
    return true;
  }

  // End the body properly when the peer is still there.
  void finish()
  {
    if (m_chunked && !m_failed && !stopping()) {
      static constexpr char k_last[] = "0\r\n\r\n";
      iovec iov{const_cast<char*>(k_last), sizeof k_last - 1};
      send_all(m_fd, &iov, 1, timeout_ms(m_shared.options.write_timeout_s), m_shared.wake_read);
    }
  }

private:
  int m_fd;
  const ServerShared& m_shared;
  bool m_chunked;
  bool m_failed = false;
};

// One accepted socket, served on its own thread until either side closes.
class Connection
{
public:
  Connection(std::shared_ptr<ServerShared> shared, int fd)
      : m_shared(std::move(shared)), m_fd(fd), m_peer(peer_of(fd)),
        m_parser(m_shared->options.limits), m_read_buffer(new char[k_read_size])
  {
    m_out.reserve(512);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ~Connection() { ::close(m_fd); }

  void serve();

private:
  // Read until the parser has a whole request or an error; false means drop the connection.
  bool read_request(State& state);
  // Format the status line and the handler's sendable headers into m_out.
  void format_head(const HttpResponse& response);
  bool write_response(const HttpResponse& response, bool head_method, bool keep_alive, bool http10);
  void write_stream(const HttpResponse& response, bool head_method, bool http10);
  void after_send(HttpResponse& response);
  // Tell the observer, answer `status` with `reason` and close: a request refused
  // before it reached the handler.
  void reject(int status, const std::string& reason);
  // Tell the observer about a request answered without the handler's response.
  void report(Rejection&& rejection);
  // Tell the observer that the handler failed (500).
  void report_failure(const std::string& reason);
  void linger();

  std::shared_ptr<ServerShared> m_shared;
  int m_fd;
  Peer m_peer;
  core::HttpRequestParser m_parser;
  std::unique_ptr<char[]> m_read_buffer;
  std::string m_out; // the response head, reused across requests
};

void
Connection::serve()
{
  const ServerShared& shared = *m_shared;
  while (true) {
    State state = m_parser.advance(); // pipelined bytes first
    if (!read_request(state)) {
      return;
    }
    if (state == State::error) {
      reject(m_parser.status(), m_parser.reason());
      return;
    }

    core::HttpRequest request = m_parser.take_request();
    const bool head_method = request.method == "HEAD";
    const bool http10 = request.http_version == "HTTP/1.0";
    bool keep_alive = request.keep_alive;
    HttpResponse response;
    try {
      response = shared.handler(std::move(request), m_peer);
      if (response.status < 100 || response.status > 999) {
        report_failure(fmt::format("handler returned invalid status {}", response.status));
        response = json_error(500, "internal server error");
      }
    } catch (const std::exception& e) {
      report_failure(fmt::format("handler failed: {}", e.what()));
      response = json_error(500, "internal server error");
    } catch (...) {
      report_failure("handler failed");
      response = json_error(500, "internal server error");
    }
    if (response.stream) {
      write_stream(response, head_method, http10);
      after_send(response);
      return; // a stream's end is the connection's end
    }
    // Once stopping, the answer to the request in flight is the last one.
    keep_alive = keep_alive && !shared.stopping.load(std::memory_order_relaxed);
    const bool written = write_response(response, head_method, keep_alive, http10);
    after_send(response);
    if (!written) {
      return;
    }
    m_parser.reset_for_next();
    if (!keep_alive) {
      if (!m_parser.buffer_empty()) {
        linger();
      }
      return;
    }
  }
}

bool
Connection::read_request(State& state)
{
  const ServerShared& shared = *m_shared;
  bool started = !m_parser.buffer_empty();
  bool in_body = false;
  const auto timeout = std::chrono::seconds(shared.options.header_timeout_s);
  auto deadline = Clock::now() + timeout;
  // The body's overall deadline (see ServerOptions::min_body_rate), moved on by every
  // byte that arrives.
  Clock::time_point body_start;
  std::size_t body_bytes = 0;
  const auto body_deadline = [&] {
    const std::size_t rate = shared.options.min_body_rate;
    return rate == 0 ? Clock::time_point::max()
                     : body_start + timeout + std::chrono::milliseconds(body_bytes * 1000 / rate);
  };

  while (state == State::need_more || state == State::head_complete) {
    if (state == State::head_complete) {
      in_body = true;
      body_start = Clock::now();
      deadline = body_start + timeout;
      // Only worth sending when no body byte came along with the head.
      if (m_parser.request().expect_continue && m_parser.buffer_empty()) {
        iovec iov{const_cast<char*>(k_continue.data()), k_continue.size()};
        if (!send_all(m_fd, &iov, 1, timeout_ms(shared.options.write_timeout_s))) {
          return false;
        }
      }
      state = m_parser.advance();
      continue;
    }

    Wait wait = Wait::readable;
    if (!started) {
      // Between requests: an idle connection, closed on stop() or after idle_timeout_s.
      wait = wait_readable(m_fd, shared.wake_read, timeout_ms(shared.options.idle_timeout_s));
    } else if (shared.options.header_timeout_s > 0) {
      const auto until = in_body ? std::min(deadline, body_deadline()) : deadline;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      wait = wait_readable(m_fd, -1, static_cast<int>(std::max<long long>(0, left.count())));
    } else {
      wait = wait_readable(m_fd, -1, -1);
    }
    if (wait == Wait::timeout && started) {
      const bool too_slow = in_body && Clock::now() < deadline;
      reject(408, !in_body   ? "request header timeout"
                  : too_slow ? "request body too slow"
                             : "request body timeout");
      return false;
    }
    if (wait != Wait::readable) {
      return false;
    }

    const ssize_t received = ::recv(m_fd, m_read_buffer.get(), k_read_size, 0);
    if (received < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      continue;
    }
    if (received <= 0) {
      return false; // the peer closed or failed; a partial request is dropped
    }
    if (!started || in_body) {
      // The head timer starts at its first byte; within a body, a pause may last the
      // timeout, and the body as a whole must keep its pace (body_deadline).
      started = true;
      deadline = Clock::now() + timeout;
    }
    if (in_body) {
      body_bytes += static_cast<std::size_t>(received);
      if (Clock::now() > body_deadline()) {
        reject(408, "request body too slow");
        return false;
      }
    }
    state =
        m_parser.feed(std::string_view(m_read_buffer.get(), static_cast<std::size_t>(received)));
  }
  return true;
}

void
Connection::format_head(const HttpResponse& response)
{
  m_out.clear();
  fmt::format_to(std::back_inserter(m_out), "HTTP/1.1 {} {}\r\n", response.status,
                 util::reason_phrase(response.status));
  for (const auto& header : response.headers) {
    if (sendable_header(header)) {
      m_out.append(header.first).append(": ").append(header.second).append("\r\n");
    }
  }
}

// Run the response's after_send; a failure there is reported, never thrown.
void
Connection::after_send(HttpResponse& response)
{
  if (!response.after_send) {
    return;
  }
  try {
    response.after_send.run();
  } catch (const std::exception& e) {
    report_failure(fmt::format("after-send work failed: {}", e.what()));
  } catch (...) {
    report_failure("after-send work failed");
  }
}

bool
Connection::write_response(const HttpResponse& response, bool head_method, bool keep_alive,
                           bool http10)
{
  const int status = response.status;
  const bool bodiless_status = status < 200 || status == 204 || status == 304;
  format_head(response);
  if (!bodiless_status) {
    fmt::format_to(std::back_inserter(m_out), "Content-Length: {}\r\n", response.body.size());
  }
  if (!keep_alive) {
    m_out.append("Connection: close\r\n");
  } else if (http10) {
    m_out.append("Connection: keep-alive\r\n");
  }
  m_out.append("\r\n");

  iovec iov[2] = {{m_out.data(), m_out.size()}, {nullptr, 0}};
  int count = 1;
  if (!bodiless_status && !head_method && !response.body.empty()) {
    // The body goes out from where the handler left it: no copy into the head buffer.
    iov[1] = {const_cast<char*>(response.body.data()), response.body.size()};
    count = 2;
  }
  return send_all(m_fd, iov, count, timeout_ms(m_shared->options.write_timeout_s));
}

void
Connection::write_stream(const HttpResponse& response, bool head_method, bool http10)
{
  format_head(response);
  if (!http10) {
    m_out.append("Transfer-Encoding: chunked\r\n");
  }
  m_out.append("Connection: close\r\n\r\n");
  iovec iov{m_out.data(), m_out.size()};
  if (!send_all(m_fd, &iov, 1, timeout_ms(m_shared->options.write_timeout_s)) || head_method) {
    return;
  }
  ChunkWriter writer(m_fd, *m_shared, !http10);
  try {
    response.stream(writer);
  } catch (const std::exception& e) {
    report_failure(fmt::format("stream failed: {}", e.what()));
    return; // the body is cut short; closing tells the peer
  } catch (...) {
    report_failure("stream failed");
    return;
  }
  writer.finish();
}

void
Connection::reject(int status, const std::string& reason)
{
  // Reported first, so the observer has heard of it (a listener has logged it) by the
  // time the peer reads the answer.
  if (m_shared->on_reject) {
    Rejection rejection;
    rejection.status = status;
    rejection.reason = reason;
    // The head as far as it was read: the parser bounds it by the head limit, and the
    // body (up to --max-body) is not passed on.
    const core::HttpRequest& partial = m_parser.request();
    rejection.request.method = partial.method;
    rejection.request.target = partial.target;
    rejection.request.http_version = partial.http_version;
    rejection.request.headers = partial.headers;
    rejection.request.chunked = partial.chunked;
    rejection.body_bytes = m_parser.body_bytes();
    report(std::move(rejection));
  }
  if (write_response(json_error(status, reason), false, false, false)) {
    linger();
  }
}

void
Connection::report(Rejection&& rejection)
{
  if (!m_shared->on_reject) {
    return;
  }
  try {
    m_shared->on_reject(rejection, m_peer);
  } catch (...) {
    // A failing observer must not take the connection thread (or the process) down.
  }
}

void
Connection::report_failure(const std::string& reason)
{
  if (!m_shared->on_reject) {
    return;
  }
  Rejection rejection;
  rejection.status = 500;
  rejection.reason = reason;
  rejection.refused = false;
  report(std::move(rejection));
}

void
Connection::linger()
{
  ::shutdown(m_fd, SHUT_WR);
  const auto until = Clock::now() + k_linger;
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    const int wait_ms = static_cast<int>(std::min<long long>(left.count(), k_linger_quiet_ms));
    if (wait_ms <= 0 || wait_readable(m_fd, -1, wait_ms) != Wait::readable) {
      return;
    }
    const ssize_t received = ::recv(m_fd, m_read_buffer.get(), k_read_size, 0);
    if (received == 0 || (received < 0 && errno != EINTR && errno != EAGAIN)) {
      return;
    }
  }
}

} // namespace

ServerShared::~ServerShared()
{
  if (wake_read >= 0) {
    ::close(wake_read);
  }
  if (wake_write >= 0) {
    ::close(wake_write);
  }
}

std::string
format_endpoint(const sockaddr_storage& storage)
{
  char host[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &storage, sizeof in);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in.sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &storage, sizeof in6);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; show them as IPv4.
      ::inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], host, sizeof host);
      return fmt::format("{}:{}", host, ntohs(in6.sin6_port));
    }
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(in6.sin6_port));
  }
  return "unknown";
}

std::string
address_only(const sockaddr_storage& storage)
{
  std::string endpoint = format_endpoint(storage);
  if (endpoint == "unknown") {
    return {};
  }
  endpoint.erase(endpoint.rfind(':'));
  return endpoint;
}

void
run_connection(std::shared_ptr<ServerShared> shared, int fd, std::string peer)
{
  // Out of memory and the like drop this connection, never the process.
  std::unique_ptr<Connection> connection;
  try {
    connection = std::make_unique<Connection>(shared, fd);
  } catch (...) {
    ::close(fd);
  }
  if (connection) {
    try {
      connection->serve();
    } catch (...) {
    }
    connection.reset(); // closes the socket before the count drops
  }
  {
    std::lock_guard lock(shared->mutex);
    --shared->active;
    if (!peer.empty()) {
      if (const auto it = shared->per_peer.find(peer);
          it != shared->per_peer.end() && --it->second == 0) {
        shared->per_peer.erase(it);
      }
    }
  }
  shared->changed.notify_all();
}

} // namespace rag::net::detail
