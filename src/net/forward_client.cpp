#include "net/forward_client.hpp"

// rag's own HTTP/1.1 client for forwarding. cpp-httplib's client sorts headers, adds
// its own and re-encodes paths (contributing.md, cpp-httplib: Client), and its per-request
// machinery (a 16 KiB buffer zeroed per exchange, response heads read a byte at a time, a liveness
// poll before every reuse) was a visible share of the forwarding profile. Here the planned head and
// the body go out in one sendmsg (no copy of the body), the answer is parsed by
// core::HttpResponseParser straight from the receive buffer, and TLS is OpenSSL's.

#include "core/forward_plan.hpp"
#include "core/http_response_parser.hpp"

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rag::net {

namespace {

using SteadyClock = std::chrono::steady_clock;
using ParserState = core::HttpResponseParser::State;

// A kept-alive connection idle for longer than this is closed rather than reused.
constexpr auto k_max_idle = std::chrono::seconds(30);
// Bodies up to this size go out in the same TLS record as the head.
constexpr std::size_t k_coalesce_limit = 64 * 1024;
// Bytes read from the socket at a time.
constexpr std::size_t k_read_chunk = 16 * 1024;

// Calls send_notifying()'s `on_sent` exactly once: when the request has been written,
// or, failing that, when send() returns (`on_sent` must not throw).
class Notifier
{
public:
  explicit Notifier(const std::function<void()>* on_sent) : m_on_sent(on_sent) {}
  ~Notifier() { notify(); }
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void notify()
  {
    const std::function<void()>* on_sent = std::exchange(m_on_sent, nullptr);
    if (on_sent != nullptr && *on_sent) {
      (*on_sent)();
    }
  }

private:
  const std::function<void()>* m_on_sent;
};

// Why connecting or an exchange failed.
struct Failure
{
  int sys_error = 0;      // errno of a failed connect, read or write
  bool timed_out = false; // the deadline passed
  bool eof = false;       // the target closed the connection
  bool connected = false; // the TCP connection was made (a timeout came later)
  std::string message;    // failures with their own words (name resolution, TLS)
  std::string hint;
};

int
remaining_ms(SteadyClock::time_point deadline)
{
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 24LL * 3600 * 1000));
}

// Wait until `fd` is ready for `events` or the deadline passes; EINTR is retried.
// Returns 1 ready, 0 timed out, -1 error.
int
wait_fd(int fd, short events, SteadyClock::time_point deadline)
{
  while (true) {
    pollfd pfd{fd, events, 0};
    const int rc = ::poll(&pfd, 1, remaining_ms(deadline));
    if (rc > 0) {
      return 1;
    }
    if (rc == 0) {
      return 0;
    }
    if (errno != EINTR) {
      return -1;
    }
  }
}

// Wait as wait_fd() does; false with `failure` saying why when not ready.
bool
wait_ready(int fd, short events, SteadyClock::time_point deadline, Failure& failure)
{
  const int ready = wait_fd(fd, events, deadline);
  if (ready > 0) {
    return true;
  }
  if (ready == 0) {
    failure.timed_out = true;
  } else if (failure.sys_error == 0) {
    failure.sys_error = errno;
  }
  return false;
}

std::string
errno_message(int err)
{
  switch (err) {
  case ECONNREFUSED: return "connection refused";
  case ECONNRESET: return "connection reset";
  case EPIPE: return "connection reset";
  case ENETUNREACH: return "network unreachable";
  case EHOSTUNREACH: return "host unreachable";
  case ETIMEDOUT: return "connection timed out";
  default: break;
  }
  std::string text = std::strerror(err);
  if (!text.empty()) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

// Open a non-blocking TCP connection to host:port before `deadline`: every address the
// name resolves to is tried in turn. Returns the socket, or -1 with `failure` set.
int
connect_tcp(const std::string& host, int port, SteadyClock::time_point deadline, Failure& failure)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  // A host that is a number is an address or nothing: the resolver would read "4000" as
  // 0.0.15.160 and send a webhook off this machine (core::parse_target refuses such hosts
  // already; this holds for any Target built another way).
  if (core::host_ends_in_number(host)) {
    if (!core::is_dotted_quad(host)) {
      failure.message = fmt::format("host '{}' is a number, not an address", host);
      failure.hint = "write a full IPv4 address such as 127.0.0.1";
      return -1;
    }
    hints.ai_flags |= AI_NUMERICHOST;
  }
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses); rc != 0) {
    failure.message = fmt::format("cannot resolve host '{}'", host);
    failure.hint = ::gai_strerror(rc);
    return -1;
  }
  int last_error = ECONNREFUSED;
  int fd = -1;
  for (const addrinfo* ai = addresses; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      break;
    }
    if (errno == EINPROGRESS) {
      const int ready = wait_fd(fd, POLLOUT, deadline);
      if (ready == 0) {
        failure.timed_out = true;
        ::close(fd);
        fd = -1;
        break;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (ready > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        break;
      }
      last_error = err != 0 ? err : errno;
    } else {
      last_error = errno;
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(addresses);
  if (fd < 0) {
    failure.sys_error = last_error;
    return -1;
  }
  failure.connected = true;
  // Without NODELAY every kept-alive request after the first waits ~40 ms (contributing.md,
  // cpp-httplib: TCP_NODELAY).
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool
is_ip_literal(const std::string& host)
{
  std::array<unsigned char, sizeof(in6_addr)> address{};
  return ::inet_pton(AF_INET, host.c_str(), address.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address.data()) == 1;
}

// Say why a TLS handshake failed, in the words of the certificate check when that
// was it.
void
describe_tls_failure(SSL* ssl, int err, bool verify, const std::string& host, Failure& failure)
{
  const long verify_result = SSL_get_verify_result(ssl);
  if (verify && verify_result != X509_V_OK) {
    failure.message =
        verify_result == X509_V_ERR_HOSTNAME_MISMATCH ||
                verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH
            ? fmt::format("TLS handshake failed: certificate does not match host '{}'", host)
            : fmt::format("TLS handshake failed: certificate verify failed ({})",
                          X509_verify_cert_error_string(verify_result));
    failure.hint = "use --insecure to accept a self-signed certificate";
  } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    failure.message = fmt::format("TLS handshake failed: {}",
                                  errno != 0 ? errno_message(errno) : "connection closed");
  } else {
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    failure.message = reason != nullptr ? fmt::format("TLS handshake failed: {}", reason)
                                        : std::string("TLS handshake failed");
  }
  ERR_clear_error();
}

// Run the TLS handshake on the connected socket `fd` before `deadline`, with SNI and,
// when `verify`, the certificate checked against `host`. Returns the session, or null
// with `failure` set.
SSL*
tls_connect(SSL_CTX* ctx, int fd, const std::string& host, bool verify,
            SteadyClock::time_point deadline, Failure& failure)
{
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    failure.message = "TLS setup failed";
    ERR_clear_error();
    return nullptr;
  }
  const bool ip = is_ip_literal(host);
  if (!ip) {
    SSL_set_tlsext_host_name(ssl, host.c_str());
  }
  if (verify) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    } else {
      SSL_set1_host(ssl, host.c_str());
    }
  }
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl);
    if (rc == 1) {
      return ssl;
    }
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (wait_ready(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, failure)) {
        continue;
      }
      SSL_free(ssl);
      return nullptr;
    }
    describe_tls_failure(ssl, err, verify, host, failure);
    SSL_free(ssl);
    return nullptr;
  }
}

// One connection to a target: its socket and, for https, its TLS session. The socket
// is non-blocking; every wait honours the exchange's deadline.
class Connection
{
public:
  Connection(int fd, SSL* ssl) : m_fd(fd), m_ssl(ssl) {}
  ~Connection()
  {
    SSL_free(m_ssl);
    ::close(m_fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Write `head` and then `body` before `deadline`; false with `failure` set when not.
  bool send(std::string_view head, std::string_view body, SteadyClock::time_point deadline,
            Failure& failure)
  {
    if (m_ssl == nullptr) {
      return send_plain(head, body, deadline, failure);
    }
    if (body.size() <= k_coalesce_limit) {
      std::string joined;
      joined.reserve(head.size() + body.size());
      joined.append(head).append(body);
      return send_tls(joined, deadline, failure);
    }
    return send_tls(head, deadline, failure) && send_tls(body, deadline, failure);
  }

  // Read what is available, waiting until `deadline` for something: >0 bytes, 0 at the
  // end of the stream (`failure.eof`), -1 on an error or timeout (`failure` says which).
  // On plain TCP, when nothing is there yet, keep trying for up to `spin` before
  // sleeping (see ForwardClientOptions::answer_spin).
  ssize_t receive(char* data, std::size_t size, SteadyClock::time_point deadline,
                  std::chrono::microseconds spin, Failure& failure)
  {
    return m_ssl == nullptr ? receive_plain(data, size, deadline, spin, failure)
                            : receive_tls(data, size, deadline, failure);
  }

  // True when nothing is waiting to be read: the target neither closed the idle
  // connection nor wrote to it.
  bool quiet() const
  {
    if (m_ssl != nullptr && SSL_pending(m_ssl) > 0) {
      return false;
    }
    pollfd pfd{m_fd, POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
  }

  SteadyClock::time_point idle_since;

private:
  // Plain TCP: head and body in one sendmsg (no copy of either), partial writes resumed.
  bool send_plain(std::string_view first, std::string_view second, SteadyClock::time_point deadline,
                  Failure& failure)
  {
    while (!first.empty() || !second.empty()) {
      std::array<iovec, 2> parts{};
      int count = 0;
      for (std::string_view part : {first, second}) {
        if (!part.empty()) {
          parts[static_cast<std::size_t>(count)] = {const_cast<char*>(part.data()), part.size()};
          ++count;
        }
      }
      msghdr message{};
      message.msg_iov = parts.data();
      message.msg_iovlen = static_cast<std::size_t>(count);
      const ssize_t n = ::sendmsg(m_fd, &message, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_ready(m_fd, POLLOUT, deadline, failure)) {
          continue;
        }
        if (!failure.timed_out && failure.sys_error == 0) {
          failure.sys_error = errno;
        }
        return false;
      }
      auto sent = static_cast<std::size_t>(n);
      const std::size_t from_first = std::min(sent, first.size());
      first.remove_prefix(from_first);
      second.remove_prefix(sent - from_first);
    }
    return true;
  }

  bool send_tls(std::string_view data, SteadyClock::time_point deadline, Failure& failure)
  {
    while (!data.empty()) {
      ERR_clear_error();
      errno = 0;
      const int chunk = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30));
      const int n = SSL_write(m_ssl, data.data(), chunk);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      const int err = SSL_get_error(m_ssl, n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        if (wait_ready(m_fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, failure)) {
          continue;
        }
        return false;
      }
      failure.sys_error = err == SSL_ERROR_SYSCALL && errno != 0 ? errno : ECONNRESET;
      ERR_clear_error();
      return false;
    }
    return true;
  }

  ssize_t receive_plain(char* data, std::size_t size, SteadyClock::time_point deadline,
                        std::chrono::microseconds spin, Failure& failure)
  {
    const SteadyClock::time_point spin_until =
        spin.count() > 0 ? std::min(deadline, SteadyClock::now() + spin) : SteadyClock::now();
    while (true) {
      const ssize_t n = ::recv(m_fd, data, size, 0);
      if (n > 0) {
        return n;
      }
      if (n == 0) {
        failure.eof = true;
        return 0;
      }
      if (errno == EINTR) {
        continue;
      }
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && SteadyClock::now() < spin_until) {
        continue; // the answer is due any moment: cheaper to look again than to sleep
      }
      if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
          wait_ready(m_fd, POLLIN, deadline, failure)) {
        continue;
      }
      if (!failure.timed_out && failure.sys_error == 0) {
        failure.sys_error = errno;
      }
      return -1;
    }
  }

  ssize_t receive_tls(char* data, std::size_t size, SteadyClock::time_point deadline,
                      Failure& failure)
  {
    while (true) {
      ERR_clear_error();
      errno = 0;
      const int n = SSL_read(m_ssl, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n > 0) {
        return n;
      }
      const int err = SSL_get_error(m_ssl, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (wait_ready(m_fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, failure)) {
          continue;
        }
        return -1;
      }
      const unsigned long reason = ERR_peek_error();
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0) ||
          (err == SSL_ERROR_SSL && ERR_GET_REASON(reason) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        failure.eof = true;
        ERR_clear_error();
        return 0;
      }
      failure.sys_error = err == SSL_ERROR_SYSCALL && errno != 0 ? errno : ECONNRESET;
      ERR_clear_error();
      return -1;
    }
  }

  int m_fd;
  SSL* m_ssl;
};

// Feed what the connection receives to `parser` until the answer is complete, the
// target closed the connection or something failed (`failure` says what). The first
// read may spin for up to `spin` before it sleeps.
void
read_response(Connection& connection, core::HttpResponseParser& parser,
              SteadyClock::time_point deadline, std::chrono::microseconds spin, Failure& failure)
{
  // Not value-initialised: zeroing 16 KiB per exchange showed in the profile.
  std::array<char, k_read_chunk> buffer; // NOLINT(cppcoreguidelines-pro-type-member-init)
  while (parser.state() == ParserState::need_more) {
    const ssize_t n =
        connection.receive(buffer.data(), buffer.size(), deadline,
                           std::exchange(spin, std::chrono::microseconds(0)), failure);
    if (n <= 0) {
      if (n == 0) {
        parser.finish();
      }
      return;
    }
    parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
}

// Counts a request in flight for as long as it lives.
class InFlight
{
public:
  explicit InFlight(std::atomic<int>& counter) : m_counter(counter)
  {
    m_count = m_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  ~InFlight() { m_counter.fetch_sub(1, std::memory_order_relaxed); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

  // Requests in flight (this one included) when this one started.
  int count() const { return m_count; }

private:
  std::atomic<int>& m_counter;
  int m_count = 0;
};

struct TargetPool
{
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle; // most recently used last
};

struct SslCtxFree
{
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

} // namespace

struct ForwardClient::Impl
{
  ForwardClientOptions options;
  std::atomic<int> in_flight{0}; // requests being sent or awaited, all targets
  std::mutex mutex;              // guards pools and tls
  std::unordered_map<std::string, std::unique_ptr<TargetPool>> pools;
  std::unique_ptr<SSL_CTX, SslCtxFree> tls;

  TargetPool& pool_for(const core::Target& target)
  {
    const std::string key = fmt::format("{}://{}:{}", target.scheme, target.host, target.port);
    std::lock_guard lock(mutex);
    auto& pool = pools[key];
    if (!pool) {
      pool = std::make_unique<TargetPool>();
    }
    return *pool;
  }

  // The TLS settings every https connection shares, made on first use.
  SSL_CTX* tls_context(Failure& failure)
  {
    std::lock_guard lock(mutex);
    if (tls) {
      return tls.get();
    }
    std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
      failure.message = "TLS setup failed";
      ERR_clear_error();
      return nullptr;
    }
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (options.insecure) {
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      const int loaded =
          options.ca_file.empty()
              ? SSL_CTX_set_default_verify_paths(ctx.get())
              : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr);
      if (loaded != 1) {
        failure.message = "TLS setup failed: cannot load the CA certificates";
        ERR_clear_error();
        return nullptr;
      }
    }
    tls = std::move(ctx);
    return tls.get();
  }

  // A kept-alive connection to reuse, or null when there is none.
  std::unique_ptr<Connection> checkout(TargetPool& pool)
  {
    std::vector<std::unique_ptr<Connection>> stale; // closed outside the lock
    std::unique_lock lock(pool.mutex);
    while (!pool.idle.empty()) {
      std::unique_ptr<Connection> connection = std::move(pool.idle.back());
      pool.idle.pop_back();
      const auto idle = SteadyClock::now() - connection->idle_since;
      // A target may have closed an idle connection or written to it unasked: a stale
      // or extra response would pass for the next request's answer, from any sender,
      // and every delivery record after it would be off by one. So a connection is
      // reused only when nothing is waiting on it (one poll), however briefly it idled,
      // as nginx's upstream keepalive closes a connection that becomes readable.
      if (idle < k_max_idle && connection->quiet()) {
        return connection;
      }
      stale.push_back(std::move(connection));
    }
    lock.unlock();
    return nullptr;
  }

  void checkin(TargetPool& pool, std::unique_ptr<Connection> connection)
  {
    connection->idle_since = SteadyClock::now();
    std::lock_guard lock(pool.mutex);
    if (pool.idle.size() < options.max_idle_per_target) {
      pool.idle.push_back(std::move(connection));
    }
  }

  // Connect to `target` (TCP, then TLS for https) before `deadline`.
  std::unique_ptr<Connection> connect(const core::Target& target, SteadyClock::time_point deadline,
                                      Failure& failure)
  {
    SSL_CTX* ctx = nullptr;
    if (target.scheme == "https") {
      ctx = tls_context(failure);
      if (ctx == nullptr) {
        return nullptr;
      }
    }
    const int fd = connect_tcp(target.host, target.port, deadline, failure);
    if (fd < 0) {
      return nullptr;
    }
    SSL* ssl = nullptr;
    if (ctx != nullptr) {
      ssl = tls_connect(ctx, fd, target.host, !options.insecure, deadline, failure);
      if (ssl == nullptr) {
        ::close(fd);
        return nullptr;
      }
    }
    return std::make_unique<Connection>(fd, ssl);
  }
};

ForwardClient::ForwardClient(ForwardClientOptions options) : m_impl(std::make_unique<Impl>())
{
  m_impl->options = std::move(options);
  // A target that hangs up must cost one delivery, never the process (OpenSSL writes
  // without MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
}

ForwardClient::~ForwardClient() = default;

void
ForwardClient::close_idle()
{
  std::vector<std::unique_ptr<Connection>> closing;
  std::lock_guard lock(m_impl->mutex);
  for (auto& [key, pool] : m_impl->pools) {
    std::lock_guard pool_lock(pool->mutex);
    for (auto& connection : pool->idle) {
      closing.push_back(std::move(connection));
    }
    pool->idle.clear();
  }
}

Result<core::HttpResult>
ForwardClient::send(const core::Target& target, const core::OutgoingRequest& request,
                    std::chrono::milliseconds timeout)
{
  return send_notifying(target, request, timeout, {});
}

Result<core::HttpResult>
ForwardClient::send_notifying(const core::Target& target, const core::OutgoingRequest& request,
                              std::chrono::milliseconds timeout,
                              const std::function<void()>& on_sent)
{
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point deadline = start + timeout;
  Notifier notifier(&on_sent);
  const InFlight in_flight(m_impl->in_flight);
  RAG_TRY_ASSIGN(const std::string head, core::serialize_request_head(request));
  TargetPool& pool = m_impl->pool_for(target);
  const bool head_request = request.method == "HEAD";

  for (int attempt = 1;; ++attempt) {
    Failure failure;
    std::unique_ptr<Connection> connection = m_impl->checkout(pool);
    const bool fresh = connection == nullptr;
    if (fresh) {
      connection = m_impl->connect(target, deadline, failure);
      if (!connection) {
        if (failure.timed_out) {
          // A handshake that ran out of time is a plain timeout; a TCP connect, "connect …".
          return error(failure.connected ? core::timeout_message(timeout)
                                         : "connect " + core::timeout_message(timeout));
        }
        if (!failure.message.empty()) {
          return error(failure.message, failure.hint);
        }
        return error(errno_message(failure.sys_error != 0 ? failure.sys_error : ECONNREFUSED));
      }
    }

    core::HttpResponseParser parser(head_request, m_impl->options.max_response_body);
    if (connection->send(head, request.body_view(), deadline, failure)) {
      notifier.notify();
      // Spinning pays only when this is the one request in flight (low load, spare CPU);
      // under load the CPU is better left to the other requests.
      const auto spin =
          in_flight.count() == 1 ? m_impl->options.answer_spin : std::chrono::microseconds(0);
      read_response(*connection, parser, deadline, spin, failure);
    }
    if (parser.state() == ParserState::complete) {
      core::HttpResult result;
      result.status = parser.status();
      result.reason = parser.reason();
      result.headers = parser.take_headers();
      result.body_truncated = parser.body_truncated();
      result.body = parser.take_body();
      result.duration =
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
      if (parser.reusable()) {
        m_impl->checkin(pool, std::move(connection));
      }
      return result;
    }

    // The target closed a kept-alive connection just as it was reused: nothing was
    // answered, so the request goes once more on a new connection.
    const bool reset = failure.eof || failure.sys_error == ECONNRESET || failure.sys_error == EPIPE;
    if (attempt == 1 && !fresh && !parser.started() && !failure.timed_out && reset) {
      continue;
    }
    if (failure.timed_out) {
      return error(core::timeout_message(timeout));
    }
    if (parser.state() == ParserState::error) {
      // After the close the parser says how far the answer got; else it was not HTTP.
      return error(failure.eof ? parser.error()
                               : "invalid HTTP response from the target: " + parser.error());
    }
    if (failure.sys_error != 0) {
      return error(errno_message(failure.sys_error));
    }
    return error("connection closed without a response");
  }
}

} // namespace rag::net
