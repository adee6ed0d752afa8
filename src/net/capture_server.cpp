#include "net/capture_server.hpp"
#include "util/http_status.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace rag::net {

namespace {

using Clock = std::chrono::steady_clock;
using State = core::HttpRequestParser::State;

constexpr int k_backlog = 511;
constexpr std::size_t k_read_size = 64 * 1024;
// After an error answer the peer may still be sending; reading it for a moment lets
// the answer arrive instead of being destroyed by a reset (a "lingering close").
constexpr auto k_linger = std::chrono::seconds(2);
constexpr int k_linger_quiet_ms = 500; // ...ending early once the peer goes quiet
// Connection threads still running after stop() get this long before serve() returns.
constexpr auto k_stop_wait = std::chrono::seconds(10);
constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

// State shared by the server and its detached connection threads; a thread that
// outlives serve()'s bounded wait keeps it alive, so nothing it touches dangles.
struct Shared
{
  ServerOptions options;
  int wake_read = -1; // readable once stop() was called (never drained)
  int wake_write = -1;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable changed; // `active` dropped or stop() was called
  std::size_t active = 0;
  CaptureServer::Handler handler;
  CaptureServer::RejectFn on_reject;

  Shared() = default;
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  ~Shared()
  {
    if (wake_read >= 0) {
      ::close(wake_read);
    }
    if (wake_write >= 0) {
      ::close(wake_write);
    }
  }
};

int
timeout_ms(int seconds)
{
  return seconds > 0 ? seconds * 1000 : -1;
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
// vanished peer from raising SIGPIPE.
bool
send_all(int fd, iovec* iov, int count, int write_timeout)
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
        pollfd out{fd, POLLOUT, 0};
        int rc = 0;
        do {
          rc = ::poll(&out, 1, write_timeout);
        } while (rc < 0 && errno == EINTR);
        if (rc <= 0 || (out.revents & (POLLERR | POLLHUP)) != 0) {
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

// One accepted socket, served on its own thread until either side closes.
class Connection
{
public:
  Connection(std::shared_ptr<Shared> shared, int fd)
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
  bool write_response(const HttpResponse& response, bool head_method, bool keep_alive, bool http10);
  void reject(int status, const std::string& reason);
  void report(int status, const std::string& reason);
  void linger();

  std::shared_ptr<Shared> m_shared;
  int m_fd;
  Peer m_peer;
  core::HttpRequestParser m_parser;
  std::unique_ptr<char[]> m_read_buffer;
  std::string m_out; // the response head, reused across requests
};

void
Connection::serve()
{
  const Shared& shared = *m_shared;
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
        report(500, fmt::format("handler returned invalid status {}", response.status));
        response = json_error(500, "internal server error");
      }
    } catch (const std::exception& e) {
      report(500, fmt::format("handler failed: {}", e.what()));
      response = json_error(500, "internal server error");
    } catch (...) {
      report(500, "handler failed");
      response = json_error(500, "internal server error");
    }
    // Once stopping, the answer to the request in flight is the last one.
    keep_alive = keep_alive && !shared.stopping.load(std::memory_order_relaxed);
    if (!write_response(response, head_method, keep_alive, http10)) {
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
  const Shared& shared = *m_shared;
  bool started = !m_parser.buffer_empty();
  bool in_body = false;
  const auto timeout = std::chrono::seconds(shared.options.header_timeout_s);
  auto deadline = Clock::now() + timeout;

  while (state == State::need_more || state == State::head_complete) {
    if (state == State::head_complete) {
      in_body = true;
      deadline = Clock::now() + timeout;
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
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait = wait_readable(m_fd, -1, static_cast<int>(std::max<long long>(0, left.count())));
    } else {
      wait = wait_readable(m_fd, -1, -1);
    }
    if (wait == Wait::timeout && started) {
      reject(408, in_body ? "request body timeout" : "request header timeout");
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
      // The head timer starts at its first byte; a body only has to keep moving.
      started = true;
      deadline = Clock::now() + timeout;
    }
    state =
        m_parser.feed(std::string_view(m_read_buffer.get(), static_cast<std::size_t>(received)));
  }
  return true;
}

bool
Connection::write_response(const HttpResponse& response, bool head_method, bool keep_alive,
                           bool http10)
{
  const int status = response.status;
  const bool bodiless_status = status < 200 || status == 204 || status == 304;
  m_out.clear();
  auto out = std::back_inserter(m_out);
  fmt::format_to(out, "HTTP/1.1 {} {}\r\n", status, util::reason_phrase(status));
  for (const auto& header : response.headers) {
    if (sendable_header(header)) {
      m_out.append(header.first).append(": ").append(header.second).append("\r\n");
    }
  }
  if (!bodiless_status) {
    fmt::format_to(out, "Content-Length: {}\r\n", response.body.size());
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
Connection::reject(int status, const std::string& reason)
{
  // Reported first, so the observer has heard of it by the time the peer reads the answer.
  report(status, reason);
  if (write_response(json_error(status, reason), false, false, false)) {
    linger();
  }
}

void
Connection::report(int status, const std::string& reason)
{
  if (!m_shared->on_reject) {
    return;
  }
  try {
    m_shared->on_reject(status, reason, m_peer);
  } catch (...) {
    // A failing observer must not take the connection thread (or the process) down.
  }
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

void
run_connection(std::shared_ptr<Shared> shared, int fd)
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
  }
  shared->changed.notify_all();
}

std::string
display_address(const std::string& host, int port)
{
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

Error
listen_error(const std::string& shown, int error_number)
{
  switch (error_number) {
  case EADDRINUSE:
    return error(fmt::format("cannot listen on {}: address already in use", shown),
                 "stop the other process or pick another port");
  case EADDRNOTAVAIL:
    return error(fmt::format("cannot listen on {}: address not available", shown),
                 "use an address of this machine, such as 127.0.0.1");
  case EACCES:
    return error(fmt::format("cannot listen on {}: permission denied", shown),
                 "pick a port above 1023");
  case EAFNOSUPPORT:
    return error(fmt::format("cannot listen on {}: address family not supported", shown),
                 "IPv6 may be disabled here; use 127.0.0.1");
  default: return error(fmt::format("cannot listen on {}: {}", shown, std::strerror(error_number)));
  }
}

} // namespace

struct CaptureServer::Impl
{
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  int listen_fd = -1;
  std::string address;
  int port = 0;
};

CaptureServer::CaptureServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

CaptureServer::~CaptureServer()
{
  stop();
  if (m_impl->listen_fd >= 0) {
    ::close(m_impl->listen_fd);
  }
}

Result<std::unique_ptr<CaptureServer>>
CaptureServer::bind(const ServerOptions& options)
{
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  if (options.port < 0 || options.port > 65535) {
    return error(fmt::format("invalid port {}", options.port), "use a port between 0 and 65535");
  }
  const std::string shown = display_address(host, options.port);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(options.port);
  if (host.empty() || ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return error(fmt::format("invalid listen address '{}'", options.host),
                 "use an IP address such as 127.0.0.1 or ::1, or localhost");
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);

  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return listen_error(shown, errno);
  }
  auto impl = std::make_unique<Impl>();
  impl->listen_fd = fd; // closed by ~CaptureServer / on the error paths below
  auto fail = [&](int error_number) {
    ::close(fd);
    return listen_error(shown, error_number);
  };

  // SO_REUSEADDR only: restarts do not wait for TIME_WAIT, yet a second server on a
  // busy port fails instead of silently sharing it (which SO_REUSEPORT would allow).
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return fail(errno);
  }
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    return fail(errno);
  }
  if (::listen(fd, k_backlog) != 0) {
    return fail(errno);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return fail(errno);
  }
  impl->address = format_endpoint(bound);
  if (bound.ss_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &bound, sizeof in6);
    impl->port = ntohs(in6.sin6_port);
  } else {
    sockaddr_in in{};
    std::memcpy(&in, &bound, sizeof in);
    impl->port = ntohs(in.sin_port);
  }

  int wake[2] = {-1, -1};
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int error_number = errno;
    ::close(fd);
    return error(fmt::format("cannot listen on {}: {}", shown, std::strerror(error_number)));
  }
  impl->shared->wake_read = wake[0];
  impl->shared->wake_write = wake[1];
  impl->shared->options = options;
  return std::unique_ptr<CaptureServer>(new CaptureServer(std::move(impl)));
}

std::string
CaptureServer::url() const
{
  return "http://" + m_impl->address;
}

std::string
CaptureServer::address() const
{
  return m_impl->address;
}

int
CaptureServer::port() const
{
  return m_impl->port;
}

void
CaptureServer::serve(Handler handler, RejectFn on_reject)
{
  Shared& shared = *m_impl->shared;
  if (m_impl->listen_fd < 0) {
    return; // served before: stop() is final
  }
  shared.handler = std::move(handler);
  shared.on_reject = std::move(on_reject);
  const std::size_t max_connections = std::max<std::size_t>(1, shared.options.max_connections);

  while (!shared.stopping.load()) {
    {
      // At the cap, leave new connections in the backlog until one closes.
      std::unique_lock lock(shared.mutex);
      shared.changed.wait(
          lock, [&] { return shared.active < max_connections || shared.stopping.load(); });
    }
    if (shared.stopping.load()) {
      break;
    }
    pollfd fds[2] = {{m_impl->listen_fd, POLLIN, 0}, {shared.wake_read, POLLIN, 0}};
    const int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno != EINTR) {
        ::poll(&fds[1], 1, 100); // transient (ENOMEM): back off, still wake on stop
      }
      continue;
    }
    if (fds[1].revents != 0) {
      break;
    }
    if ((fds[0].revents & POLLIN) == 0) {
      continue;
    }
    const int fd = ::accept4(m_impl->listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ::poll(&fds[1], 1, 100); // out of descriptors: let connections close first
      }
      continue;
    }
    // Without NODELAY every keep-alive answer after the first waits ~40 ms (Nagle +
    // delayed ACK), measured in deps.md §0.3.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    {
      std::lock_guard lock(shared.mutex);
      ++shared.active;
    }
    try {
      std::thread(run_connection, m_impl->shared, fd).detach();
    } catch (const std::system_error&) {
      ::close(fd);
      std::lock_guard lock(shared.mutex);
      --shared.active;
    }
  }

  ::close(m_impl->listen_fd);
  m_impl->listen_fd = -1;
  std::unique_lock lock(shared.mutex);
  shared.changed.wait_for(lock, k_stop_wait, [&] { return shared.active == 0; });
}

void
CaptureServer::stop()
{
  Shared& shared = *m_impl->shared;
  if (shared.stopping.exchange(true)) {
    return;
  }
  const char byte = 1;
  if (::write(shared.wake_write, &byte, 1) < 0) {
    // Cannot fail in practice (fresh non-blocking pipe); `stopping` is set regardless.
  }
  {
    // Taken so that a waiter between its predicate check and its sleep cannot miss this.
    std::lock_guard lock(shared.mutex);
  }
  shared.changed.notify_all();
}

} // namespace rag::net
