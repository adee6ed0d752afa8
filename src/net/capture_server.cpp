#include "net/capture_server.hpp"

#include "net/http_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace rag::net {

namespace {

using detail::format_endpoint;
using detail::ServerShared;

constexpr int k_backlog = 511;
// Connection threads still running after stop() get this long before serve() returns.
constexpr auto k_stop_wait = std::chrono::seconds(10);

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
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
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
  ServerShared& shared = *m_impl->shared;
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
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const int fd = ::accept4(m_impl->listen_fd, reinterpret_cast<sockaddr*>(&from), &from_length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ::poll(&fds[1], 1, 100); // out of descriptors: let connections close first
      }
      continue;
    }
    // Without NODELAY every keep-alive answer after the first waits ~40 ms (Nagle +
    // delayed ACK), measured in contributing.md, cpp-httplib: TCP_NODELAY.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string peer;
    if (shared.options.max_connections_per_peer > 0) {
      peer = detail::address_only(from);
      std::lock_guard lock(shared.mutex);
      std::size_t& open = shared.per_peer[peer];
      if (open >= shared.options.max_connections_per_peer) {
        // One host holds all it may: this one is closed at once, the others go on.
        ::close(fd);
        continue;
      }
      ++open;
    }
    {
      std::lock_guard lock(shared.mutex);
      ++shared.active;
    }
    try {
      std::thread(detail::run_connection, m_impl->shared, fd, peer).detach();
    } catch (const std::system_error&) {
      ::close(fd);
      std::lock_guard lock(shared.mutex);
      --shared.active;
      if (!peer.empty() && --shared.per_peer[peer] == 0) {
        shared.per_peer.erase(peer);
      }
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
  ServerShared& shared = *m_impl->shared;
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
