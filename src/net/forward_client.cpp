#include "net/forward_client.hpp"

// The only file that includes <httplib.h>. cpp-httplib's client sorts headers,
// adds its own and re-encodes paths (deps.md §1.6), so it is used here only for
// connection handling, TLS and response parsing: a ClientImpl/SSLClient subclass
// does its own connect (precise errors, TCP_NODELAY) and hands httplib a stream
// that swallows httplib's request head and writes ours, byte for byte, with the
// body taken straight from the shared buffer (deps.md §1.9).
#include <httplib.h>

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
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

// A kept-alive connection idle for longer than this is closed rather than reused.
constexpr auto k_max_idle = std::chrono::seconds(30);
// Bodies up to this size go out in the same write as the head (one packet, one syscall).
constexpr std::size_t k_coalesce_limit = 64 * 1024;
// A response head longer than this is not recorded header by header (httplib caps
// each line at 8 KiB anyway).
constexpr std::size_t k_max_response_head = 256 * 1024;

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

// One request/response exchange: what to write, until when, and what happened.
// Shared between ForwardClient::send, the client subclass and the stream.
struct Exchange
{
  std::string_view head; // our exact request head
  std::string_view body;
  SteadyClock::time_point deadline;

  bool head_sent = false; // httplib's head was swallowed and ours written
  std::string swallowed;  // httplib's own head, never sent
  bool timed_out = false;
  bool eof = false;           // the target closed the connection
  int sys_error = 0;          // errno of a failed read or write
  std::size_t bytes_read = 0; // response bytes received
  std::string response_head;  // raw final response head (1xx heads skipped)
  bool response_head_done = false;
  bool bodiless = false; // a 304: no body whatever the headers say

  std::string connect_error; // set when connecting failed
  std::string connect_hint;
  bool fresh_connection = false; // this exchange opened a new connection
  Notifier* notifier = nullptr;  // told once the request has been written
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

// Open a TCP connection to host:port before the exchange's deadline: every address
// the name resolves to is tried in turn. On failure the exchange says why.
int
connect_tcp(const std::string& host, int port, Exchange& exchange)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses); rc != 0) {
    exchange.connect_error = fmt::format("cannot resolve host '{}'", host);
    exchange.connect_hint = ::gai_strerror(rc);
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
      const int ready = wait_fd(fd, POLLOUT, exchange.deadline);
      if (ready == 0) {
        exchange.timed_out = true;
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
    exchange.connect_error = exchange.timed_out ? "connect timeout" : errno_message(last_error);
    return -1;
  }
  // Without NODELAY every kept-alive request after the first waits ~40 ms (deps.md §0.3).
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// A status line "HTTP/1.1 200 OK" with its headers, from raw head bytes.
struct ParsedHead
{
  int status = 0;
  std::string reason;
  core::Headers headers;
};

std::optional<ParsedHead>
parse_response_head(std::string_view head)
{
  auto next_line = [&head]() {
    const std::size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    return line;
  };
  const std::string_view status_line = next_line();
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ') {
    return std::nullopt;
  }
  ParsedHead parsed;
  for (std::size_t i = 9; i < 12; ++i) {
    const char c = status_line[i];
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    parsed.status = parsed.status * 10 + (c - '0');
  }
  if (status_line.size() > 13) {
    parsed.reason = std::string(status_line.substr(13));
  }
  while (!head.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) {
      break;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    parsed.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return parsed;
}

// The stream httplib talks through for one exchange. Its first write (httplib's
// request head) is swallowed and replaced by our head and body; every response
// byte read until the end of the head is recorded so the headers keep their
// order. All waits honour the exchange's single deadline.
class ExchangeStream final : public httplib::Stream
{
public:
  ExchangeStream(int fd, SSL* ssl, Exchange& exchange) : m_fd(fd), m_ssl(ssl), m_ex(exchange)
  {
    if (m_ssl != nullptr) {
      // httplib leaves TLS sockets blocking after the handshake; non-blocking lets
      // every SSL_read/SSL_write wait on our deadline instead of forever.
      const int flags = ::fcntl(m_fd, F_GETFL);
      if (flags >= 0 && (flags & O_NONBLOCK) == 0) {
        ::fcntl(m_fd, F_SETFL, flags | O_NONBLOCK);
      }
    }
  }

  bool is_readable() const override
  {
    if (m_off < m_len || (m_ssl != nullptr && SSL_pending(m_ssl) > 0)) {
      return true;
    }
    return wait_fd(m_fd, POLLIN, m_ex.deadline) > 0;
  }

  bool is_writable() const override { return wait_fd(m_fd, POLLOUT, m_ex.deadline) > 0; }

  ssize_t read(char* ptr, size_t size) override
  {
    if (m_ex.bodiless && m_ex.response_head_done) {
      return 0;
    }
    if (m_off == m_len) {
      const ssize_t n = receive(m_buffer.data(), m_buffer.size());
      if (n <= 0) {
        return n;
      }
      m_off = 0;
      m_len = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, m_len - m_off);
    std::memcpy(ptr, m_buffer.data() + m_off, n);
    m_off += n;
    m_ex.bytes_read += n;
    if (!m_ex.response_head_done) {
      record_head(ptr, n);
    }
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override
  {
    if (m_ex.head_sent) {
      return send_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
    }
    // httplib writes its whole head in one call; collect it in case it ever splits it.
    m_ex.swallowed.append(ptr, size);
    const std::string_view swallowed = m_ex.swallowed;
    if (swallowed.size() >= 4 && swallowed.substr(swallowed.size() - 4) == "\r\n\r\n") {
      m_ex.head_sent = true;
      if (!send_request()) {
        return -1;
      }
      if (m_ex.notifier != nullptr) {
        m_ex.notifier->notify();
      }
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override
  {
    ip.clear();
    port = -1;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override
  {
    ip.clear();
    port = -1;
  }

  socket_t socket() const override { return m_fd; }

private:
  bool send_request()
  {
    if (m_ssl == nullptr) {
      return send_vectored(m_ex.head, m_ex.body);
    }
    if (m_ex.body.size() <= k_coalesce_limit) {
      std::string joined;
      joined.reserve(m_ex.head.size() + m_ex.body.size());
      joined.append(m_ex.head).append(m_ex.body);
      return send_all(joined.data(), joined.size());
    }
    return send_all(m_ex.head.data(), m_ex.head.size()) &&
           send_all(m_ex.body.data(), m_ex.body.size());
  }

  // Plain TCP: head and body in one sendmsg (no copy of either), partial writes resumed.
  bool send_vectored(std::string_view first, std::string_view second)
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
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable()) {
          continue;
        }
        fail_io(errno);
        return false;
      }
      auto sent = static_cast<std::size_t>(n);
      const std::size_t from_first = std::min(sent, first.size());
      first.remove_prefix(from_first);
      second.remove_prefix(sent - from_first);
    }
    return true;
  }

  bool send_all(const char* data, std::size_t size)
  {
    if (m_ssl == nullptr) {
      return send_vectored(std::string_view(data, size), {});
    }
    while (size > 0) {
      ERR_clear_error();
      const int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
      const int n = SSL_write(m_ssl, data, chunk);
      if (n > 0) {
        data += n;
        size -= static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(m_ssl, n);
      if (err == SSL_ERROR_WANT_WRITE && wait_writable()) {
        continue;
      }
      if (err == SSL_ERROR_WANT_READ && wait_readable()) {
        continue;
      }
      if (!m_ex.timed_out) {
        fail_io(err == SSL_ERROR_SYSCALL && errno != 0 ? errno : ECONNRESET);
      }
      return false;
    }
    return true;
  }

  // Read what is available (waiting until the deadline for something): >0 bytes,
  // 0 at end of stream, -1 on error or timeout (the exchange says which).
  ssize_t receive(char* data, std::size_t size)
  {
    while (true) {
      if (m_ssl == nullptr) {
        const ssize_t n = ::recv(m_fd, data, size, 0);
        if (n > 0) {
          return n;
        }
        if (n == 0) {
          m_ex.eof = true;
          return 0;
        }
        if (errno == EINTR) {
          continue;
        }
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_readable()) {
          continue;
        }
        if (!m_ex.timed_out) {
          fail_io(errno);
        }
        return -1;
      }
      ERR_clear_error();
      const int n = SSL_read(m_ssl, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n > 0) {
        return n;
      }
      const int err = SSL_get_error(m_ssl, n);
      if (err == SSL_ERROR_WANT_READ && wait_readable()) {
        continue;
      }
      if (err == SSL_ERROR_WANT_WRITE && wait_writable()) {
        continue;
      }
      if (m_ex.timed_out) {
        return -1;
      }
      const unsigned long reason = ERR_peek_error();
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0) ||
          (err == SSL_ERROR_SSL && ERR_GET_REASON(reason) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        m_ex.eof = true;
        ERR_clear_error();
        return 0;
      }
      fail_io(err == SSL_ERROR_SYSCALL && errno != 0 ? errno : ECONNRESET);
      ERR_clear_error();
      return -1;
    }
  }

  bool wait_readable()
  {
    const int ready = wait_fd(m_fd, POLLIN, m_ex.deadline);
    m_ex.timed_out = m_ex.timed_out || ready == 0;
    return ready > 0;
  }

  bool wait_writable()
  {
    const int ready = wait_fd(m_fd, POLLOUT, m_ex.deadline);
    m_ex.timed_out = m_ex.timed_out || ready == 0;
    return ready > 0;
  }

  void fail_io(int err)
  {
    if (m_ex.sys_error == 0) {
      m_ex.sys_error = err;
    }
  }

  // Keep the bytes of the response head (httplib reads it one byte at a time);
  // an interim 1xx head is dropped so the final one is what is kept.
  void record_head(const char* data, std::size_t size)
  {
    for (std::size_t i = 0; i < size && !m_ex.response_head_done; ++i) {
      std::string& head = m_ex.response_head;
      if (head.size() >= k_max_response_head) {
        m_ex.response_head_done = true;
        break;
      }
      head.push_back(data[i]);
      const std::string_view view = head;
      const bool ended = (view.size() >= 2 && view.substr(view.size() - 2) == "\n\n") ||
                         (view.size() >= 4 && view.substr(view.size() - 4) == "\r\n\r\n");
      if (!ended) {
        continue;
      }
      const auto parsed = parse_response_head(view);
      if (parsed && parsed->status >= 100 && parsed->status < 200 && parsed->status != 101) {
        head.clear();
        continue;
      }
      m_ex.response_head_done = true;
      m_ex.bodiless = parsed && parsed->status == 304;
    }
  }

  int m_fd;
  SSL* m_ssl;
  Exchange& m_ex;
  std::array<char, 16 * 1024> m_buffer{};
  std::size_t m_off = 0;
  std::size_t m_len = 0;
};

// httplib's ClientImpl or SSLClient with our connect and our stream.
template<typename Base> class ExactClient final : public Base
{
public:
  ExactClient(const std::string& host, int port) : Base(host, port) {}

  // The exchange the next send() belongs to (set by the caller around each send).
  Exchange* exchange = nullptr;

private:
  using Socket = typename Base::Socket;

  bool create_and_connect_socket(Socket& socket, httplib::Error& error) override
  {
    if (!this->is_valid()) {
      exchange->connect_error = "TLS setup failed";
      error = httplib::Error::SSLConnection;
      return false;
    }
    const int fd = connect_tcp(this->host_, this->port_, *exchange);
    if (fd < 0) {
      error = exchange->timed_out ? httplib::Error::ConnectionTimeout : httplib::Error::Connection;
      return false;
    }
    socket.sock = fd;
    exchange->fresh_connection = true;
    return true;
  }

  bool process_socket(const Socket& socket,
                      std::function<bool(httplib::Stream& strm)> callback) override
  {
    ExchangeStream stream(socket.sock, socket.ssl, *exchange);
    return callback(stream);
  }
};

using PlainClient = ExactClient<httplib::ClientImpl>;
using TlsClient = ExactClient<httplib::SSLClient>;

// One pooled client: one kept-alive connection to one target.
struct Connection
{
  std::unique_ptr<httplib::ClientImpl> client;
  Exchange** exchange = nullptr; // the client's `exchange` member
  SteadyClock::time_point idle_since;
};

struct TargetPool
{
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle; // most recently used last
};

std::string
tls_error_message(httplib::ClientImpl& client, httplib::Error error, const std::string& host)
{
  if (error == httplib::Error::SSLServerVerification) {
    const long result = static_cast<httplib::SSLClient&>(client).get_openssl_verify_result();
    if (result != X509_V_OK) {
      return fmt::format("TLS handshake failed: certificate verify failed ({})",
                         X509_verify_cert_error_string(result));
    }
    return fmt::format("TLS handshake failed: certificate does not match host '{}'", host);
  }
  if (error == httplib::Error::SSLLoadingCerts) {
    return "TLS setup failed: cannot load the CA certificates";
  }
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? fmt::format("TLS handshake failed: {}", reason)
                           : std::string("TLS handshake failed");
}

} // namespace

struct ForwardClient::Impl
{
  ForwardClientOptions options;
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<TargetPool>> pools;

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

  std::unique_ptr<Connection> checkout(TargetPool& pool, const core::Target& target)
  {
    std::unique_ptr<Connection> stale; // closed outside the lock
    {
      std::lock_guard lock(pool.mutex);
      while (!pool.idle.empty()) {
        std::unique_ptr<Connection> connection = std::move(pool.idle.back());
        pool.idle.pop_back();
        if (SteadyClock::now() - connection->idle_since < k_max_idle) {
          return connection;
        }
        stale = std::move(connection);
      }
    }
    return make_connection(target);
  }

  void checkin(TargetPool& pool, std::unique_ptr<Connection> connection)
  {
    if (connection->client->is_socket_open() == 0) {
      return;
    }
    connection->idle_since = SteadyClock::now();
    std::lock_guard lock(pool.mutex);
    if (pool.idle.size() < options.max_idle_per_target) {
      pool.idle.push_back(std::move(connection));
    }
  }

  std::unique_ptr<Connection> make_connection(const core::Target& target)
  {
    auto connection = std::make_unique<Connection>();
    if (target.scheme == "https") {
      auto client = std::make_unique<TlsClient>(target.host, target.port);
      client->enable_server_certificate_verification(!options.insecure);
      if (!options.ca_file.empty()) {
        client->set_ca_cert_path(options.ca_file);
      }
      connection->exchange = &client->exchange;
      connection->client = std::move(client);
    } else {
      auto client = std::make_unique<PlainClient>(target.host, target.port);
      connection->exchange = &client->exchange;
      connection->client = std::move(client);
    }
    httplib::ClientImpl& client = *connection->client;
    client.set_keep_alive(true);
    client.set_url_encode(false);
    client.set_decompress(false);
    client.set_follow_location(false);
    client.set_tcp_nodelay(true);
    return connection;
  }
};

ForwardClient::ForwardClient(ForwardClientOptions options) : m_impl(std::make_unique<Impl>())
{
  m_impl->options = std::move(options);
  // OpenSSL writes to the socket without MSG_NOSIGNAL: a target that hangs up must
  // cost one delivery, never the process.
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
  Notifier notifier(&on_sent);
  RAG_TRY_ASSIGN(const std::string head, core::serialize_request_head(request));
  TargetPool& pool = m_impl->pool_for(target);
  const std::size_t max_body = m_impl->options.max_response_body;

  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Connection> connection = m_impl->checkout(pool, target);
    Exchange exchange;
    exchange.notifier = &notifier;
    exchange.head = head;
    exchange.body = request.body_view();
    exchange.deadline = start + timeout;

    core::HttpResult result;
    httplib::Request req;
    req.method = request.method; // httplib skips the body of HEAD responses by it
    req.path = request.target;
    req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t total) {
      if (result.body.empty() && total > 0) {
        result.body.reserve(static_cast<std::size_t>(std::min<uint64_t>(total, max_body)));
      }
      const std::size_t room = max_body - result.body.size();
      if (size > room) {
        // Stop reading: the connection is closed rather than drained.
        result.body.append(data, room);
        result.body_truncated = true;
        return false;
      }
      result.body.append(data, size);
      return true;
    };

    // httplib's own timeouts bound the TLS handshake; everything else waits on the deadline.
    const auto left =
        std::max<std::chrono::microseconds>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                exchange.deadline - SteadyClock::now()),
                                            std::chrono::microseconds(1000));
    httplib::ClientImpl& client = *connection->client;
    client.set_connection_timeout(left);
    client.set_read_timeout(left);
    client.set_write_timeout(left);

    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    *connection->exchange = &exchange;
    const bool ok = client.send(req, res, err);
    *connection->exchange = nullptr;
    auto parsed =
        exchange.response_head_done ? parse_response_head(exchange.response_head) : std::nullopt;
    const bool answered = ok || (result.body_truncated && err == httplib::Error::Canceled) ||
                          (exchange.bodiless && parsed.has_value());

    if (!answered) {
      // The target closed an idle kept-alive connection just as it was reused:
      // nothing was answered, so the request goes once more on a new connection.
      const bool reset =
          exchange.eof || exchange.sys_error == ECONNRESET || exchange.sys_error == EPIPE;
      if (attempt == 1 && !exchange.fresh_connection && exchange.connect_error.empty() &&
          exchange.bytes_read == 0 && !exchange.timed_out && reset) {
        continue;
      }
      if (!exchange.connect_error.empty()) {
        if (exchange.timed_out) {
          return error("connect " + core::timeout_message(timeout));
        }
        return error(exchange.connect_error, exchange.connect_hint);
      }
      if (exchange.timed_out) {
        return error(core::timeout_message(timeout));
      }
      if (err == httplib::Error::SSLConnection && SteadyClock::now() >= exchange.deadline) {
        // httplib's handshake ran out of the time we gave it.
        return error(core::timeout_message(timeout));
      }
      if (err == httplib::Error::SSLConnection || err == httplib::Error::SSLServerVerification ||
          err == httplib::Error::SSLLoadingCerts) {
        return error(tls_error_message(client, err, target.host),
                     err == httplib::Error::SSLServerVerification
                         ? "use --insecure to accept a self-signed certificate"
                         : "");
      }
      if (exchange.sys_error != 0) {
        return error(errno_message(exchange.sys_error));
      }
      if (exchange.eof) {
        return error(exchange.bytes_read == 0 ? "connection closed without a response"
                                              : "connection closed mid-response");
      }
      if (exchange.bytes_read > 0) {
        return error("invalid HTTP response from the target");
      }
      return error(fmt::format("request failed: {}", httplib::to_string(err)));
    }

    if (parsed) {
      result.status = parsed->status;
      result.reason = parsed->reason;
      result.headers = std::move(parsed->headers);
    } else {
      // Only an oversized head lands here: fall back to httplib's (sorted) view.
      result.status = res.status;
      result.reason = res.reason;
      for (const auto& [name, value] : res.headers) {
        result.headers.emplace_back(name, value);
      }
    }
    result.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
    if (ok) {
      m_impl->checkin(pool, std::move(connection));
    }
    return result;
  }
}

} // namespace rag::net
