#include "net/forward_client.hpp"

#include "core/forward_plan.hpp"
#include "net/capture_server.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using rag::core::Headers;
using rag::core::OutgoingRequest;

namespace {

// A self-signed certificate for 127.0.0.1, made in memory for the TLS tests.
struct TlsIdentity
{
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{nullptr, SSL_CTX_free};

  TlsIdentity()
  {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("rag test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, const_cast<char*>("IP:127.0.0.1"));
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    ctx.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

// One accepted connection, plain or TLS.
class Conn
{
public:
  Conn(int fd, SSL* ssl) : m_fd(fd), m_ssl(ssl) {}

  // Read some bytes: >0, 0 at EOF, <0 on error.
  ssize_t read_some(char* data, std::size_t size)
  {
    if (m_ssl != nullptr) {
      return SSL_read(m_ssl, data, static_cast<int>(size));
    }
    return ::recv(m_fd, data, size, 0);
  }

  bool write_all(std::string_view data)
  {
    while (!data.empty()) {
      const ssize_t n = m_ssl != nullptr
                            ? SSL_write(m_ssl, data.data(), static_cast<int>(data.size()))
                            : ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Read one request (head + Content-Length body) exactly as sent; empty at EOF.
  std::string read_request()
  {
    while (true) {
      const std::size_t head_end = m_buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const std::string head = m_buffer.substr(0, head_end + 4);
        for (const char* name : {"\r\nContent-Length: ", "\r\ncontent-length: "}) {
          const std::size_t at = head.find(name);
          if (at != std::string::npos) {
            length = std::stoul(head.substr(at + std::strlen(name)));
          }
        }
        if (m_buffer.size() >= head.size() + length) {
          std::string request = m_buffer.substr(0, head.size() + length);
          m_buffer.erase(0, request.size());
          return request;
        }
      }
      char chunk[65536];
      const ssize_t n = read_some(chunk, sizeof(chunk));
      if (n <= 0) {
        return {};
      }
      m_buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }

private:
  int m_fd;
  SSL* m_ssl;
  std::string m_buffer;
};

// A raw HTTP server on 127.0.0.1:0: every connection runs `handler` on its own
// thread, so tests script the exact bytes on the wire.
class RawServer
{
public:
  using Handler = std::function<void(Conn&)>;

  explicit RawServer(Handler handler, SSL_CTX* tls = nullptr)
      : m_handler(std::move(handler)), m_tls(tls)
  {
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_listen, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(m_listen, 64) == 0);
    socklen_t length = sizeof(address);
    ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&address), &length);
    m_port = ntohs(address.sin_port);
    m_accept = std::thread([this] { accept_loop(); });
  }

  ~RawServer()
  {
    m_stopping = true;
    ::shutdown(m_listen, SHUT_RDWR);
    m_accept.join();
    {
      std::lock_guard lock(m_mutex);
      for (int fd : m_fds) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    for (auto& thread : m_threads) {
      thread.join();
    }
    ::close(m_listen);
  }

  int port() const { return m_port; }
  int connections() const { return m_connections.load(); }

  // Record a request as the server saw it.
  void record(std::string request)
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(std::move(request));
  }

  std::vector<std::string> requests()
  {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

private:
  void accept_loop()
  {
    while (!m_stopping) {
      const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      m_connections.fetch_add(1);
      std::lock_guard lock(m_mutex);
      m_fds.push_back(fd);
      m_threads.emplace_back([this, fd] {
        SSL* ssl = nullptr;
        if (m_tls != nullptr) {
          ssl = SSL_new(m_tls);
          SSL_set_fd(ssl, fd);
          if (SSL_accept(ssl) != 1) {
            SSL_free(ssl);
            ssl = nullptr;
            ::close(fd);
            return;
          }
        }
        Conn conn(fd, ssl);
        m_handler(conn);
        if (ssl != nullptr) {
          SSL_shutdown(ssl);
          SSL_free(ssl);
        }
        ::shutdown(fd, SHUT_RDWR);
      });
    }
  }

  Handler m_handler;
  SSL_CTX* m_tls;
  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stopping{false};
  std::atomic<int> m_connections{0};
  std::thread m_accept;
  std::mutex m_mutex;
  std::vector<int> m_fds;
  std::vector<std::thread> m_threads;
  std::vector<std::string> m_requests;
};

// Answer every request on the connection with `response`, recording each.
RawServer::Handler
answer_all(RawServer*& server, std::string response)
{
  return [&server, response](Conn& conn) {
    while (true) {
      std::string request = conn.read_request();
      if (request.empty()) {
        return;
      }
      server->record(std::move(request));
      if (!conn.write_all(response)) {
        return;
      }
    }
  };
}

rag::core::Target
local_target(int port, const char* scheme = "http")
{
  auto target =
      rag::core::parse_target(std::string(scheme) + "://127.0.0.1:" + std::to_string(port));
  REQUIRE(target.ok());
  return *target;
}

OutgoingRequest
simple_request(std::string method = "POST", std::string body = "{}")
{
  OutgoingRequest request;
  request.method = std::move(method);
  request.target = "/hook";
  request.headers = {{"Host", "127.0.0.1"}, {"Content-Length", std::to_string(body.size())}};
  request.body = std::make_shared<const std::string>(std::move(body));
  return request;
}

int
unused_port()
{
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

constexpr const char* k_ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

} // namespace

TEST_CASE("ForwardClient: exact request bytes on the wire, response headers in wire order")
{
  RawServer* server = nullptr;
  RawServer raw(answer_all(server,
                           "HTTP/1.1 201 Created\r\nZ-Last: 1\r\nA-First: 2\r\nSet-Cookie: a\r\n"
                           "Set-Cookie: b\r\nX-Empty:\r\nContent-Length: 5\r\n\r\nhello"));
  server = &raw;

  OutgoingRequest request;
  request.method = "POST";
  request.target = "/order?q=a+b,c;d%20e&x=%2F";
  const std::string body("a\0b\xff\r\n{}", 8);
  request.headers = {{"Host", "127.0.0.1"},
                     {"Zeta", "1"},
                     {"alpha", "2"},
                     {"X-Custom", "v"},
                     {"x-custom", "v2"},
                     {"X-Empty", ""},
                     {"Content-Type", "application/octet-stream"},
                     {"Content-Length", "8"}};
  request.body = std::make_shared<const std::string>(body);

  rag::net::ForwardClient client;
  auto result = client.send(local_target(raw.port()), request, 5s);
  REQUIRE_MESSAGE(result.ok(), result.error().message);
  CHECK(result->status == 201);
  CHECK(result->reason == "Created");
  const Headers expected_headers = {{"Z-Last", "1"},     {"A-First", "2"}, {"Set-Cookie", "a"},
                                    {"Set-Cookie", "b"}, {"X-Empty", ""},  {"Content-Length", "5"}};
  CHECK(result->headers == expected_headers);
  CHECK(result->body == "hello");
  CHECK_FALSE(result->body_truncated);
  CHECK(result->duration.count() > 0);

  const auto requests = raw.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0] == "POST /order?q=a+b,c;d%20e&x=%2F HTTP/1.1\r\n"
                       "Host: 127.0.0.1\r\nZeta: 1\r\nalpha: 2\r\nX-Custom: v\r\nx-custom: v2\r\n"
                       "X-Empty: \r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: 8\r\n\r\n" +
                           body);
}

TEST_CASE("ForwardClient: any method, and a GET without body carries no added headers")
{
  RawServer* server = nullptr;
  RawServer raw(answer_all(server, k_ok));
  server = &raw;
  rag::net::ForwardClient client;

  OutgoingRequest request;
  request.method = "PROPFIND";
  request.target = "/dav/";
  request.headers = {{"Host", "x"}};
  REQUIRE(client.send(local_target(raw.port()), request, 5s).ok());
  request.method = "GET";
  request.headers = {};
  REQUIRE(client.send(local_target(raw.port()), request, 5s).ok());

  const auto requests = raw.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0] == "PROPFIND /dav/ HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(requests[1] == "GET /dav/ HTTP/1.1\r\n\r\n");
}

TEST_CASE("ForwardClient: keep-alive: sequential requests reuse one connection")
{
  RawServer* server = nullptr;
  RawServer raw(answer_all(server, k_ok));
  server = &raw;
  rag::net::ForwardClient client;
  for (int i = 0; i < 3; ++i) {
    auto result = client.send(local_target(raw.port()), simple_request(), 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->body == "ok");
  }
  CHECK(raw.requests().size() == 3);
  CHECK(raw.connections() == 1);
}

TEST_CASE("ForwardClient: concurrent requests to one target run in parallel")
{
  constexpr int k_parallel = 4;
  std::mutex mutex;
  std::condition_variable all_in;
  int in_flight = 0;
  int most_in_flight = 0;
  // Each request is held until all of them are at the server at once: a client
  // that serialised requests to one target would never get there (and the wait
  // gives up after 10 s so the test fails instead of hanging).
  RawServer raw([&](Conn& conn) {
    while (!conn.read_request().empty()) {
      std::unique_lock lock(mutex);
      ++in_flight;
      most_in_flight = std::max(most_in_flight, in_flight);
      all_in.notify_all();
      all_in.wait_for(lock, 10s, [&] { return most_in_flight >= k_parallel; });
      --in_flight;
      lock.unlock();
      if (!conn.write_all(k_ok)) {
        return;
      }
    }
  });

  rag::net::ForwardClient client;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < k_parallel; ++i) {
    senders.emplace_back([&] {
      if (client.send(local_target(raw.port()), simple_request(), 20s).ok()) {
        succeeded.fetch_add(1);
      }
    });
  }
  for (auto& sender : senders) {
    sender.join();
  }
  CHECK(succeeded.load() == k_parallel);
  CHECK(most_in_flight == k_parallel);
  CHECK(raw.connections() == k_parallel);

  // The pooled connections are reused afterwards.
  REQUIRE(client.send(local_target(raw.port()), simple_request(), 5s).ok());
  CHECK(raw.connections() == k_parallel);
}

TEST_CASE("ForwardClient: a dead target is 'connection refused'")
{
  rag::net::ForwardClient client;
  auto result = client.send(local_target(unused_port()), simple_request(), 5s);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "connection refused");
}

TEST_CASE("ForwardClient: a target that never answers is 'timeout after 300ms'")
{
  std::atomic<bool> got_request{false};
  RawServer raw([&](Conn& conn) {
    if (!conn.read_request().empty()) {
      got_request = true;
    }
    // Never answer: wait for the client to give up (EOF) or the server to stop.
    char byte = 0;
    conn.read_some(&byte, 1);
  });
  rag::net::ForwardClient client;
  auto result = client.send(local_target(raw.port()), simple_request(), 300ms);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "timeout after 300ms");
  CHECK(got_request.load());
}

TEST_CASE("ForwardClient: a target that hangs up without answering")
{
  RawServer raw([&](Conn& conn) { conn.read_request(); });
  rag::net::ForwardClient client;
  auto result = client.send(local_target(raw.port()), simple_request(), 5s);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "connection closed without a response");
  CHECK(raw.connections() == 1); // a fresh connection is never retried
}

TEST_CASE("ForwardClient: a reused connection the target dropped is retried once, fresh")
{
  std::atomic<int> seen{0};
  RawServer* server = nullptr;
  RawServer raw([&](Conn& conn) {
    while (true) {
      std::string request = conn.read_request();
      if (request.empty()) {
        return;
      }
      server->record(request);
      // The second request overall is dropped unanswered, as a server that closes
      // an idle keep-alive connection just as it is reused would.
      if (seen.fetch_add(1) == 1) {
        return;
      }
      if (!conn.write_all(k_ok)) {
        return;
      }
    }
  });
  server = &raw;
  rag::net::ForwardClient client;
  REQUIRE(client.send(local_target(raw.port()), simple_request(), 5s).ok());
  auto second = client.send(local_target(raw.port()), simple_request(), 5s);
  REQUIRE_MESSAGE(second.ok(), second.error().message);
  CHECK(second->body == "ok");
  CHECK(raw.requests().size() == 3);
  CHECK(raw.connections() == 2);
}

TEST_CASE("ForwardClient: send_notifying tells once, after the request went out, before the answer")
{
  std::promise<void> told;
  std::future<void> told_future = told.get_future();
  std::atomic<bool> told_before_answer{false};
  RawServer raw([&](Conn& conn) {
    if (conn.read_request().empty()) {
      return;
    }
    // Answer only once the client said the request is out (or after 5 s, to fail).
    told_before_answer = told_future.wait_for(5s) == std::future_status::ready;
    conn.write_all(k_ok);
  });
  rag::net::ForwardClient client;
  int calls = 0;
  const std::function<void()> on_sent = [&] {
    if (++calls == 1) {
      told.set_value();
    }
  };
  auto result = client.send_notifying(local_target(raw.port()), simple_request(), 10s, on_sent);
  REQUIRE_MESSAGE(result.ok(), result.error().message);
  CHECK(result->body == "ok");
  CHECK(calls == 1);
  CHECK(told_before_answer.load());

  SUBCASE("a request that never went out still tells, once")
  {
    int refused_calls = 0;
    auto refused = client.send_notifying(local_target(unused_port()), simple_request(), 5s,
                                         [&] { ++refused_calls; });
    CHECK_FALSE(refused.ok());
    CHECK(refused_calls == 1);
  }
}

TEST_CASE("ForwardClient: an idle connection the target wrote to is not reused")
{
  RawServer* server = nullptr;
  std::atomic<int> connection_number{0};
  RawServer raw([&](Conn& conn) {
    const int number = ++connection_number;
    std::string request = conn.read_request();
    if (request.empty()) {
      return;
    }
    server->record(request);
    if (number == 1) {
      // Answer, then say something unasked while idle, as a server timing out does.
      conn.write_all(std::string(k_ok) +
                     "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
      conn.read_request(); // until the client closes
      return;
    }
    conn.write_all(k_ok);
    conn.read_request();
  });
  server = &raw;
  rag::net::ForwardClientOptions options;
  rag::net::ForwardClient client(options);
  REQUIRE(client.send(local_target(raw.port()), simple_request(), 5s).ok());
  // The 408 arrived after the answer: that connection was not even parked.
  auto second = client.send(local_target(raw.port()), simple_request(), 5s);
  REQUIRE_MESSAGE(second.ok(), second.error().message);
  CHECK(second->status == 200);
  CHECK(raw.connections() == 2);
}

TEST_CASE("ForwardClient: an idle connection written to after it was parked is not reused")
{
  RawServer* server = nullptr;
  std::atomic<int> connection_number{0};
  std::promise<void> parked;
  std::future<void> parked_future = parked.get_future();
  std::promise<void> written;
  RawServer raw([&](Conn& conn) {
    const int number = ++connection_number;
    std::string request = conn.read_request();
    if (request.empty()) {
      return;
    }
    server->record(request);
    conn.write_all(k_ok);
    if (number == 1) {
      parked_future.wait_for(5s);
      conn.write_all("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
      written.set_value();
    }
    conn.read_request(); // until the client closes
  });
  server = &raw;
  rag::net::ForwardClientOptions options;
  rag::net::ForwardClient client(options);
  REQUIRE(client.send(local_target(raw.port()), simple_request(), 5s).ok());
  parked.set_value();
  REQUIRE(written.get_future().wait_for(5s) == std::future_status::ready);
  // (On loopback the bytes are in the client's receive queue once the write returned.)
  auto second = client.send(local_target(raw.port()), simple_request(), 5s);
  REQUIRE_MESSAGE(second.ok(), second.error().message);
  CHECK(second->status == 200); // not the 408 the idle connection held
  CHECK(raw.connections() == 2);
}

TEST_CASE("ForwardClient: response bodies are raw and bounded")
{
  SUBCASE("gzip is not decompressed")
  {
    const std::string gzip("\x1f\x8b\x08\x00not-really-gzip\xff", 20);
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                                     "Content-Length: 20\r\n\r\n" +
                                         gzip));
    server = &raw;
    rag::net::ForwardClient client;
    auto result = client.send(local_target(raw.port()), simple_request(), 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->body == gzip);
  }
  SUBCASE("chunked is de-chunked, the header is reported as sent")
  {
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    server = &raw;
    rag::net::ForwardClient client;
    for (int i = 0; i < 2; ++i) {
      auto result = client.send(local_target(raw.port()), simple_request(), 5s);
      REQUIRE_MESSAGE(result.ok(), result.error().message);
      CHECK(result->body == "hello world");
      CHECK(result->headers == Headers{{"Transfer-Encoding", "chunked"}});
    }
    CHECK(raw.connections() == 1);
  }
  SUBCASE("a body over the limit is cut and marked truncated")
  {
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" +
                                         std::string(100, 'z')));
    server = &raw;
    rag::net::ForwardClientOptions options;
    options.max_response_body = 10;
    rag::net::ForwardClient client(options);
    auto result = client.send(local_target(raw.port()), simple_request(), 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->status == 200);
    CHECK(result->body == std::string(10, 'z'));
    CHECK(result->body_truncated);
  }
}

TEST_CASE("ForwardClient: interim 100 Continue, HEAD and 304 answers")
{
  SUBCASE("100 Continue is skipped")
  {
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 100 Continue\r\n\r\n"
                                     "HTTP/1.1 202 Accepted\r\nA: 1\r\nContent-Length: 0\r\n\r\n"));
    server = &raw;
    rag::net::ForwardClient client;
    auto result = client.send(local_target(raw.port()), simple_request(), 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->status == 202);
    CHECK(result->headers == Headers{{"A", "1"}, {"Content-Length", "0"}});
  }
  SUBCASE("HEAD reads no body and keeps the connection usable")
  {
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"));
    server = &raw;
    rag::net::ForwardClient client;
    for (int i = 0; i < 2; ++i) {
      auto result = client.send(local_target(raw.port()), simple_request("HEAD", ""), 5s);
      REQUIRE_MESSAGE(result.ok(), result.error().message);
      CHECK(result->body.empty());
    }
    CHECK(raw.connections() == 1);
  }
  SUBCASE("304 without length has no body")
  {
    RawServer* server = nullptr;
    RawServer raw(answer_all(server, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"));
    server = &raw;
    rag::net::ForwardClient client;
    auto result = client.send(local_target(raw.port()), simple_request("GET", ""), 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->status == 304);
    CHECK(result->body.empty());
  }
}

TEST_CASE("ForwardClient: https targets")
{
  TlsIdentity identity;
  RawServer* server = nullptr;
  RawServer raw(
      answer_all(server, "HTTP/1.1 200 OK\r\nZ: 1\r\nA: 2\r\nContent-Length: 3\r\n\r\nsec"),
      identity.ctx.get());
  server = &raw;
  const auto target = local_target(raw.port(), "https");

  SUBCASE("a self-signed certificate is refused without --insecure")
  {
    rag::net::ForwardClient client;
    auto result = client.send(target, simple_request(), 5s);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.rfind("TLS handshake failed: certificate verify failed", 0) == 0);
    CHECK(result.error().hint.find("--insecure") != std::string::npos);
  }
  SUBCASE("--insecure accepts it; exact bytes and keep-alive as over plain TCP")
  {
    rag::net::ForwardClientOptions options;
    options.insecure = true;
    rag::net::ForwardClient client(options);
    OutgoingRequest request = simple_request("POST", std::string("\0\xff", 2));
    request.headers = {{"zeta", "1"}, {"Alpha", "2"}, {"Content-Length", "2"}};
    for (int i = 0; i < 2; ++i) {
      auto result = client.send(target, request, 5s);
      REQUIRE_MESSAGE(result.ok(), result.error().message);
      CHECK(result->body == "sec");
      CHECK(result->headers == Headers{{"Z", "1"}, {"A", "2"}, {"Content-Length", "3"}});
    }
    const auto requests = raw.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0] == "POST /hook HTTP/1.1\r\nzeta: 1\r\nAlpha: 2\r\n"
                         "Content-Length: 2\r\n\r\n" +
                             std::string("\0\xff", 2));
    CHECK(raw.connections() == 1);
  }
}

TEST_CASE("ForwardClient: an unsafe request is refused before anything is sent")
{
  rag::net::ForwardClient client;
  OutgoingRequest request = simple_request();
  request.headers.emplace_back("X-Evil", "a\r\nInjected: 1");
  auto result = client.send(local_target(unused_port()), request, 5s);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("X-Evil") != std::string::npos);
}

TEST_CASE("ForwardClient: rag's own CaptureServer receives exactly the planned request")
{
  rag::net::ServerOptions server_options;
  server_options.port = 0;
  auto bound = rag::net::CaptureServer::bind(server_options);
  REQUIRE(bound.ok());
  rag::net::CaptureServer& server = **bound;
  std::mutex mutex;
  std::vector<rag::core::HttpRequest> captured;
  std::thread serving([&] {
    server.serve([&](rag::core::HttpRequest&& request, const rag::net::Peer&) {
      std::lock_guard lock(mutex);
      captured.push_back(std::move(request));
      return rag::net::HttpResponse{207, {{"B", "1"}, {"a", "2"}}, "multi"};
    });
  });

  auto target = rag::core::parse_target(std::to_string(server.port()));
  REQUIRE(target.ok());
  const Headers incoming = {{"Host", "public.example"},       {"Zeta", "1"},  {"alpha", ""},
                            {"Transfer-Encoding", "chunked"}, {"X-Dup", "1"}, {"x-dup", "2"}};
  auto body = std::make_shared<const std::string>(std::string("\0\x01\xfe\xff", 4));
  auto planned = rag::core::plan_request(*target, "PATCH", "/p?q=a+b", incoming, body,
                                         {"192.0.2.1", "http", false});
  REQUIRE(planned.ok());
  rag::net::ForwardClient client;
  for (int i = 0; i < 2; ++i) {
    auto result = client.send(*target, *planned, 5s);
    REQUIRE_MESSAGE(result.ok(), result.error().message);
    CHECK(result->status == 207);
    CHECK(result->body == "multi");
    CHECK(result->headers.at(0) == rag::core::Header{"B", "1"});
    CHECK(result->headers.at(1) == rag::core::Header{"a", "2"});
  }
  server.stop();
  serving.join();

  REQUIRE(captured.size() == 2);
  for (const auto& request : captured) {
    CHECK(request.method == "PATCH");
    CHECK(request.target == "/p?q=a+b");
    CHECK(request.headers == planned->headers);
    CHECK(request.body == *body);
    CHECK_FALSE(request.chunked);
  }
}
