#include "net/capture_server.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using rag::core::Headers;
using rag::core::HttpRequest;
using rag::net::CaptureServer;
using rag::net::HttpResponse;
using rag::net::Peer;
using rag::net::Rejection;
using rag::net::ServerOptions;

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

ServerOptions
loopback_options()
{
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  return options;
}

// A server bound to a kernel-chosen loopback port, served on its own thread.
class TestServer
{
public:
  explicit TestServer(CaptureServer::Handler handler, ServerOptions options = loopback_options(),
                      CaptureServer::RejectFn on_reject = {})
  {
    auto bound = CaptureServer::bind(options);
    REQUIRE_MESSAGE(bound.ok(), (bound.ok() ? "" : bound.error().message));
    m_server = std::move(bound.value());
    m_served = std::async(std::launch::async, [this, handler = std::move(handler),
                                               on_reject = std::move(on_reject)]() mutable {
      m_server->serve(std::move(handler), std::move(on_reject));
    });
  }

  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  ~TestServer()
  {
    m_server->stop();
    m_served.wait();
  }

  CaptureServer& server() { return *m_server; }
  int port() const { return m_server->port(); }
  // Wait (bounded) for serve() to return; true when it did.
  bool wait_served(std::chrono::milliseconds limit)
  {
    return m_served.wait_for(limit) == std::future_status::ready;
  }

private:
  std::unique_ptr<CaptureServer> m_server;
  std::future<void> m_served;
};

struct Response
{
  int status = 0;
  std::string head; // status line and headers as received, with the blank line
  Headers headers;
  std::string body;

  std::optional<std::string> header(std::string_view name) const
  {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size() && strncasecmp(key.c_str(), name.data(), name.size()) == 0) {
        return value;
      }
    }
    return std::nullopt;
  }
};

// A raw-socket HTTP client: what it sends is exactly what the test wrote.
class Client
{
public:
  explicit Client(int port, int family = AF_INET)
  {
    m_fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(m_fd >= 0);
    timeval timeout{10, 0}; // a broken server fails the test instead of hanging it
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int rc = -1;
    if (family == AF_INET6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(static_cast<std::uint16_t>(port));
      address.sin6_addr = in6addr_loopback;
      rc = ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    m_connect_errno = rc == 0 ? 0 : errno;
  }

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { close(); }

  int connect_errno() const { return m_connect_errno; }

  void close()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }

  void send(std::string_view bytes)
  {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(sent > 0);
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  // Send what the socket takes; false once the server has closed it.
  bool try_send(std::string_view bytes)
  {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Read until `marker` is buffered; returns everything up to and including it.
  std::string read_through(std::string_view marker)
  {
    std::size_t found = 0;
    while ((found = m_buffer.find(marker)) == std::string::npos) {
      if (!fill()) {
        return {};
      }
    }
    std::string out = m_buffer.substr(0, found + marker.size());
    m_buffer.erase(0, found + marker.size());
    return out;
  }

  std::string read_exact(std::size_t n)
  {
    while (m_buffer.size() < n) {
      if (!fill()) {
        return {};
      }
    }
    std::string out = m_buffer.substr(0, n);
    m_buffer.erase(0, n);
    return out;
  }

  Response read_response(bool head_request = false)
  {
    Response response;
    response.head = read_through("\r\n\r\n");
    REQUIRE_MESSAGE(!response.head.empty(), "no response head");
    std::string_view head = response.head;
    const std::size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    REQUIRE(status_line.substr(0, 9) == "HTTP/1.1 ");
    response.status = std::stoi(std::string(status_line.substr(9, 3)));
    head.remove_prefix(line_end + 2);
    while (head.size() > 2) {
      const std::size_t end = head.find("\r\n");
      const std::string_view line = head.substr(0, end);
      const std::size_t colon = line.find(':');
      REQUIRE(colon != std::string_view::npos);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      head.remove_prefix(end + 2);
    }
    const auto length = response.header("Content-Length");
    if (length && !head_request) {
      response.body = read_exact(std::stoul(*length));
    }
    return response;
  }

  // True when the server closed the connection (EOF or reset) and sent nothing more.
  bool closed_by_server()
  {
    if (!m_buffer.empty()) {
      return false;
    }
    char byte = 0;
    const ssize_t received = ::recv(m_fd, &byte, 1, 0);
    return received == 0 || (received < 0 && errno == ECONNRESET);
  }

  int fd() const { return m_fd; }

  // True when a byte arrives within `limit`.
  bool readable_within(std::chrono::milliseconds limit)
  {
    if (!m_buffer.empty()) {
      return true;
    }
    pollfd fd{m_fd, POLLIN, 0};
    return ::poll(&fd, 1, static_cast<int>(limit.count())) > 0;
  }

private:
  bool fill()
  {
    char chunk[16384];
    const ssize_t received = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (received <= 0) {
      return false;
    }
    m_buffer.append(chunk, static_cast<std::size_t>(received));
    return true;
  }

  int m_fd = -1;
  int m_connect_errno = 0;
  std::string m_buffer;
};

// Keeps what the handler saw for the test thread.
struct Captured
{
  std::mutex mutex;
  std::vector<HttpRequest> requests;
  std::vector<Peer> peers;

  CaptureServer::Handler handler(int status = 200)
  {
    return [this, status](HttpRequest&& request, const Peer& peer) {
      HttpResponse response;
      response.status = status;
      response.headers.emplace_back("Content-Type", "text/plain");
      response.body = request.target + " " + request.method;
      std::lock_guard lock(mutex);
      requests.push_back(std::move(request));
      peers.push_back(peer);
      return response;
    };
  }

  std::size_t count()
  {
    std::lock_guard lock(mutex);
    return requests.size();
  }
};

struct Rejections
{
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> seen;
  std::vector<Rejection> full;

  CaptureServer::RejectFn fn()
  {
    return [this](const Rejection& rejection, const Peer&) {
      std::lock_guard lock(mutex);
      seen.emplace_back(rejection.status, rejection.reason);
      full.push_back(rejection);
    };
  }

  std::vector<std::pair<int, std::string>> get()
  {
    std::lock_guard lock(mutex);
    return seen;
  }

  std::vector<Rejection> get_full()
  {
    std::lock_guard lock(mutex);
    return full;
  }
};

// Loopback options with a 100-byte body and a 1 KiB head limit.
ServerOptions
small_limits()
{
  ServerOptions options = loopback_options();
  options.limits.max_body_bytes = 100;
  options.limits.max_header_bytes = 1024;
  return options;
}

std::string
simple_get(const std::string& target)
{
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

} // namespace

TEST_CASE("capture server: exact bytes reach the handler")
{
  Captured captured;
  TestServer server(captured.handler());
  CHECK(server.server().address() == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(server.server().url() == "http://127.0.0.1:" + std::to_string(server.port()));

  const std::string body("{\"a\":1}\0\xff\xfe\r\n", 12);
  Client client(server.port());
  client.send("PURGE /p/a%2Fb?x=1&y=a+b&z=%20&x=2#frag HTTP/1.1\r\n"
              "Zeta: 1\r\n"
              "Host: example.test\r\n"
              "alpha: 2\r\n"
              "X-Dup: a\r\n"
              "x-dup: b\r\n"
              "X-Empty:\r\n"
              "X-Pct: a%20b%0D%0AX-Inj: 1\r\n"
              "REMOTE_ADDR: 6.6.6.6\r\n"
              "Content-Encoding: gzip\r\n"
              "Content-Length: 12\r\n"
              "\r\n" +
              body);
  const Response response = client.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == "/p/a%2Fb?x=1&y=a+b&z=%20&x=2#frag PURGE");

  client.send("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "4;ext=1\r\n\x1f\x8b\0\x01\r\n0\r\nTrailer: x\r\n\r\n"s);
  CHECK(client.read_response().status == 200);

  std::lock_guard lock(captured.mutex);
  REQUIRE(captured.requests.size() == 2);
  const HttpRequest& first = captured.requests[0];
  CHECK(first.method == "PURGE");
  CHECK(first.target == "/p/a%2Fb?x=1&y=a+b&z=%20&x=2#frag");
  CHECK(first.http_version == "HTTP/1.1");
  const Headers expected = {{"Zeta", "1"},
                            {"Host", "example.test"},
                            {"alpha", "2"},
                            {"X-Dup", "a"},
                            {"x-dup", "b"},
                            {"X-Empty", ""},
                            {"X-Pct", "a%20b%0D%0AX-Inj: 1"},
                            {"REMOTE_ADDR", "6.6.6.6"},
                            {"Content-Encoding", "gzip"},
                            {"Content-Length", "12"}};
  CHECK(first.headers == expected);
  CHECK(first.body == body);
  // The peer comes from the socket, never from a header.
  CHECK(captured.peers[0].remote.rfind("127.0.0.1:", 0) == 0);
  CHECK(captured.peers[0].remote != "127.0.0.1:" + std::to_string(server.port()));
  CHECK(captured.peers[0].local == server.server().address());

  const HttpRequest& second = captured.requests[1];
  CHECK(second.chunked);
  CHECK(second.body == std::string("\x1f\x8b\0\x01", 4));
}

TEST_CASE("capture server: pipelined requests are answered in order, HEAD has no body")
{
  Captured captured;
  TestServer server(captured.handler());
  Client client(server.port());
  client.send("POST /1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
              "HEAD /2 HTTP/1.1\r\nHost: t\r\n\r\n"
              "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
  const Response first = client.read_response();
  CHECK(first.body == "/1 POST");
  const Response second = client.read_response(true);
  CHECK(second.status == 200);
  CHECK(second.header("Content-Length") == std::string("7")); // "/2 HEAD"
  const Response third = client.read_response();
  CHECK(third.body == "/3 GET");
  CHECK_FALSE(third.header("Connection"));
  CHECK(captured.count() == 3);
}

TEST_CASE("capture server: after_send runs once the answer is out, before the next request")
{
  std::mutex mutex;
  std::vector<std::string> order;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto note = [&](const std::string& what) {
    std::lock_guard lock(mutex);
    order.push_back(what);
  };
  TestServer server([&](HttpRequest&& request, const Peer&) {
    note("handle " + request.target);
    HttpResponse response{200, {}, request.target};
    const std::string target = request.target;
    response.after_send = rag::util::DeferredTask([&, target, released] {
      released.wait_for(10s); // held until the test has read the answer
      note("after " + target);
    });
    return response;
  });
  Client client(server.port());
  client.send("GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(client.read_response().body == "/1"); // out while /1's after_send is held
  release.set_value();
  CHECK(client.read_response().body == "/2");
  client.close();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (bool done = false; !done && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(1ms);
    std::lock_guard lock(mutex);
    done = order.size() == 4;
  }
  std::lock_guard lock(mutex);
  CHECK(order == std::vector<std::string>{"handle /1", "after /1", "handle /2", "after /2"});
}

TEST_CASE("capture server: keep-alive reuses the connection; close and HTTP/1.0 rules")
{
  Captured captured;
  TestServer server(captured.handler());
  {
    Client client(server.port());
    for (int i = 0; i < 3; ++i) {
      client.send(simple_get("/k" + std::to_string(i)));
      const Response response = client.read_response();
      CHECK(response.body == "/k" + std::to_string(i) + " GET");
      CHECK_FALSE(response.header("Connection"));
    }
    std::lock_guard lock(captured.mutex);
    REQUIRE(captured.peers.size() == 3);
    CHECK(captured.peers[0].remote == captured.peers[2].remote);
  }
  {
    Client client(server.port());
    client.send("GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(client.read_response().header("Connection") == std::string("close"));
    CHECK(client.closed_by_server());
  }
  {
    Client client(server.port());
    client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(client.read_response().header("Connection") == std::string("keep-alive"));
    client.send("GET /b HTTP/1.0\r\n\r\n");
    const Response last = client.read_response();
    CHECK(last.body == "/b GET");
    CHECK(last.header("Connection") == std::string("close"));
    CHECK(client.closed_by_server());
  }
}

TEST_CASE("capture server: 100 Continue is sent before the body is")
{
  Captured captured;
  TestServer server(captured.handler(201));
  Client client(server.port());
  client.send("PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  CHECK(client.read_through("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(captured.count() == 0);
  client.send("hello");
  const Response response = client.read_response();
  CHECK(response.status == 201);
  CHECK(response.head.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  std::lock_guard lock(captured.mutex);
  REQUIRE(captured.requests.size() == 1);
  CHECK(captured.requests[0].body == "hello");
}

TEST_CASE("capture server: 413 and 431 are answered and the server keeps serving")
{
  Captured captured;
  Rejections rejections;
  TestServer server(captured.handler(), small_limits(), rejections.fn());

  {
    Client client(server.port());
    client.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n" +
                std::string(101, 'x'));
    const Response response = client.read_response();
    CHECK(response.status == 413);
    CHECK(response.head.rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
    CHECK(response.header("Connection") == std::string("close"));
    CHECK(response.body == R"({"error":"request body too large"})");
    CHECK(client.closed_by_server());
  }
  {
    Client client(server.port());
    client.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "40\r\n" +
                std::string(64, 'x') + "\r\n40\r\n" + std::string(64, 'y') + "\r\n");
    CHECK(client.read_response().status == 413);
  }
  {
    Client client(server.port());
    // Keep sending header bytes as long as the server takes them; it must answer anyway.
    client.try_send("GET / HTTP/1.1\r\nX-Long: " + std::string(64 * 1024, 'h'));
    const Response response = client.read_response();
    CHECK(response.status == 431);
    CHECK(response.body == R"({"error":"request header fields too large"})");
  }
  {
    Client client(server.port());
    client.send("GET / HTTP/2.0\r\n\r\n");
    CHECK(client.read_response().status == 505);
  }
  Client next(server.port());
  next.send(simple_get("/after"));
  CHECK(next.read_response().body == "/after GET");
  CHECK(captured.count() == 1);

  const auto seen = rejections.get();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0] == std::pair<int, std::string>(413, "request body too large"));
  CHECK(seen[1].first == 413);
  CHECK(seen[2] == std::pair<int, std::string>(431, "request header fields too large"));
  CHECK(seen[3].first == 505);
}

TEST_CASE("capture server: a refused request is reported with what was read of it, no body")
{
  Captured captured;
  Rejections rejections;
  TestServer server(captured.handler(), small_limits(), rejections.fn());

  const auto refuse = [&](const std::string& bytes, int status) {
    Client client(server.port());
    client.try_send(bytes);
    CHECK(client.read_response().status == status);
  };
  // Content-Length over the limit: refused before a body byte is read.
  refuse("POST /big?a=1 HTTP/1.1\r\nHost: t\r\nX-Case: Kept\r\nContent-Length: 101\r\n\r\n" +
             std::string(101, 'x'),
         413);
  // Chunked over the limit: 64 bytes were read and dropped.
  refuse("POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
             std::string(64, 'x') + "\r\n40\r\n" + std::string(64, 'y') + "\r\n",
         413);
  // A head over the limit: the request line and the headers before the long one.
  refuse("GET /long HTTP/1.1\r\nHost: t\r\nX-Long: " + std::string(4096, 'h'), 431);
  // Nothing readable at all.
  refuse("\x16\x03\x01 garbage\r\n\r\n", 400);

  const auto seen = rejections.get_full();
  REQUIRE(seen.size() == 4);
  for (const Rejection& rejection : seen) {
    CHECK(rejection.refused);
    CHECK(rejection.request.body.empty());
  }
  CHECK(seen[0].request.method == "POST");
  CHECK(seen[0].request.target == "/big?a=1");
  CHECK(seen[0].request.http_version == "HTTP/1.1");
  CHECK(seen[0].request.headers ==
        Headers{{"Host", "t"}, {"X-Case", "Kept"}, {"Content-Length", "101"}});
  CHECK(seen[0].body_bytes == 0);
  CHECK(seen[1].request.target == "/chunks");
  CHECK(seen[1].request.chunked);
  CHECK(seen[1].body_bytes == 64);
  CHECK(seen[2].status == 431);
  CHECK(seen[2].request.target == "/long");
  CHECK(seen[2].request.headers == Headers{{"Host", "t"}});
  CHECK(seen[3].request.method.empty());
  CHECK(seen[3].request.target.empty());
  CHECK(seen[3].request.headers.empty());
  CHECK(captured.count() == 0);
}

TEST_CASE("capture server: RFC 9112 refusals (Host, transfer codings) are answered and closed")
{
  Captured captured;
  Rejections rejections;
  TestServer server(captured.handler(), loopback_options(), rejections.fn());

  struct Refusal
  {
    std::string request;
    std::string status_line;
    std::string reason;
  };
  const std::vector<Refusal> refusals = {
      {"POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
       "5\r\nhello\r\n0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented\r\n", "unsupported transfer-encoding"},
      {"GET /no-host HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", "missing host header"},
      {"GET /two HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n",
       "more than one host header"},
      {"POST /old HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n", "transfer-encoding in an http/1.0 request"},
  };
  for (const Refusal& refusal : refusals) {
    CAPTURE(refusal.reason);
    Client client(server.port());
    client.send(refusal.request);
    const Response response = client.read_response();
    CHECK(response.head.rfind(refusal.status_line, 0) == 0);
    CHECK(response.header("Connection") == std::string("close"));
    CHECK(response.body == R"({"error":")" + refusal.reason + R"("})");
    CHECK(client.closed_by_server());
  }
  // HTTP/1.0 without Host is still served.
  Client old(server.port());
  old.send("GET /old-client HTTP/1.0\r\n\r\n");
  CHECK(old.read_response().body == "/old-client GET");
  CHECK(captured.count() == 1);

  const auto seen = rejections.get();
  REQUIRE(seen.size() == refusals.size());
  for (std::size_t i = 0; i < refusals.size(); ++i) {
    CHECK(seen[i].first == std::stoi(refusals[i].status_line.substr(9, 3)));
    CHECK(seen[i].second == refusals[i].reason);
  }
}

TEST_CASE("capture server: the server owns framing headers and drops unsafe ones")
{
  TestServer server([](HttpRequest&&, const Peer&) {
    HttpResponse response;
    response.status = 299;
    response.headers = {{"X-A", "1"},
                        {"Content-Length", "999"},
                        {"X-Bad", "a\r\nInjected: 1"},
                        {"Connection", "keep-alive"},
                        {"Transfer-Encoding", "chunked"},
                        {"x-b", ""}};
    response.body = "ok";
    return response;
  });
  Client client(server.port());
  client.send(simple_get("/"));
  CHECK(client.read_through("\r\n\r\n") ==
        "HTTP/1.1 299 \r\nX-A: 1\r\nx-b: \r\nContent-Length: 2\r\n\r\n");
  CHECK(client.read_exact(2) == "ok");
}

TEST_CASE("capture server: 204 carries no Content-Length and no body")
{
  TestServer server([](HttpRequest&&, const Peer&) {
    return HttpResponse{204, {{"X-Id", "1"}}, "ignored"};
  });
  Client client(server.port());
  client.send(simple_get("/a") + simple_get("/b"));
  CHECK(client.read_through("\r\n\r\n") == "HTTP/1.1 204 No Content\r\nX-Id: 1\r\n\r\n");
  CHECK(client.read_through("\r\n\r\n") == "HTTP/1.1 204 No Content\r\nX-Id: 1\r\n\r\n");
}

TEST_CASE("capture server: a throwing handler gives 500 and the server lives on")
{
  Rejections rejections;
  std::atomic<int> calls{0};
  TestServer server(
      [&](HttpRequest&& request, const Peer&) -> HttpResponse {
        ++calls;
        if (request.target == "/throw") {
          throw std::runtime_error("boom");
        }
        return {200, {}, "fine"};
      },
      loopback_options(), rejections.fn());
  Client client(server.port());
  client.send(simple_get("/throw"));
  const Response failed = client.read_response();
  CHECK(failed.status == 500);
  CHECK(failed.body == R"({"error":"internal server error"})");
  client.send(simple_get("/ok"));
  CHECK(client.read_response().body == "fine");
  CHECK(calls == 2);
  const auto seen = rejections.get();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::pair<int, std::string>(500, "handler failed: boom"));
  // The handler had the request: not a refusal.
  CHECK_FALSE(rejections.get_full()[0].refused);
}

TEST_CASE("capture server: 40 idle keep-alive connections do not starve a new one")
{
  Captured captured;
  TestServer server(captured.handler());
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<Client>(server.port()));
    if (i % 2 == 0) {
      // Half of them had a request and now sit on a kept-alive connection.
      idle.back()->send(simple_get("/idle"));
      CHECK(idle.back()->read_response().status == 200);
    }
  }
  Client fresh(server.port());
  fresh.send(simple_get("/fresh"));
  CHECK(fresh.read_response().body == "/fresh GET");
}

TEST_CASE("capture server: at max_connections new connections wait for a free slot")
{
  Captured captured;
  ServerOptions options = loopback_options();
  options.max_connections = 2;
  TestServer server(captured.handler(), options);
  auto first = std::make_unique<Client>(server.port());
  Client second(server.port());
  for (Client* client : {first.get(), &second}) {
    client->send(simple_get("/held"));
    CHECK(client->read_response().status == 200);
  }
  Client third(server.port()); // connects (backlog) but is not served yet
  third.send(simple_get("/third"));
  CHECK_FALSE(third.readable_within(300ms));
  first.reset();
  CHECK(third.read_response().body == "/third GET");
}

TEST_CASE("capture server: a second bind to a busy port fails clearly")
{
  auto first = CaptureServer::bind(loopback_options());
  REQUIRE(first.ok());
  ServerOptions options = loopback_options();
  options.port = first.value()->port();
  auto second = CaptureServer::bind(options);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message ==
        "cannot listen on 127.0.0.1:" + std::to_string(options.port) + ": address already in use");
  CHECK(second.error().hint == "stop the other process or pick another port");
  CHECK(second.error().exit_code == 1);
}

TEST_CASE("capture server: bad addresses are errors naming them; localhost is 127.0.0.1")
{
  ServerOptions options = loopback_options();
  options.host = "not-an-ip";
  auto bad = CaptureServer::bind(options);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("not-an-ip") != std::string::npos);

  options.host = "127.0.0.1";
  options.port = 70000;
  auto port = CaptureServer::bind(options);
  REQUIRE_FALSE(port.ok());
  CHECK(port.error().message.find("70000") != std::string::npos);

  options.host = "localhost";
  options.port = 0;
  auto local = CaptureServer::bind(options);
  REQUIRE(local.ok());
  CHECK(local.value()->address() == "127.0.0.1:" + std::to_string(local.value()->port()));
}

TEST_CASE("capture server: binds ::1 when IPv6 is available")
{
  ServerOptions options = loopback_options();
  options.host = "::1";
  auto probe = CaptureServer::bind(options);
  if (!probe.ok()) {
    MESSAGE("IPv6 loopback unavailable, skipped: " << probe.error().message);
    return;
  }
  Captured captured;
  TestServer server(captured.handler(), options);
  const std::string port = std::to_string(server.port());
  CHECK(server.server().address() == "[::1]:" + port);
  CHECK(server.server().url() == "http://[::1]:" + port);
  Client client(server.port(), AF_INET6);
  REQUIRE(client.connect_errno() == 0);
  client.send(simple_get("/v6"));
  CHECK(client.read_response().body == "/v6 GET");
  std::lock_guard lock(captured.mutex);
  REQUIRE(captured.peers.size() == 1);
  CHECK(captured.peers[0].remote.rfind("[::1]:", 0) == 0);
  CHECK(captured.peers[0].local == "[::1]:" + port);
}

TEST_CASE("capture server: header and idle timeouts")
{
  Rejections rejections;
  Captured captured;
  ServerOptions options = loopback_options();
  options.header_timeout_s = 1;
  options.idle_timeout_s = 1;
  TestServer server(captured.handler(), options, rejections.fn());
  Client slow(server.port());
  Client idle(server.port());
  slow.send("GET / HTTP/1.1\r\nHost:");
  const Response response = slow.read_response();
  CHECK(response.status == 408);
  CHECK(response.header("Connection") == std::string("close"));
  CHECK(idle.closed_by_server());
  const auto seen = rejections.get();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::pair<int, std::string>(408, "request header timeout"));
}

TEST_CASE("capture server: a body dripped a byte at a time is dropped once it falls behind pace")
{
  Rejections rejections;
  Captured captured;
  ServerOptions options = loopback_options();
  options.header_timeout_s = 1; // no pause may last 1 s, and the body gets 1 s + 1 s/KiB
  TestServer server(captured.handler(), options, rejections.fn());
  Client drip(server.port());
  drip.send("POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
  // Never silent for a whole second, yet far below 1 KiB/s: without the pace rule this
  // connection would be held for as long as the peer likes.
  const auto start = std::chrono::steady_clock::now();
  bool answered = false;
  for (int i = 0; i < 30 && !answered; ++i) {
    drip.send("x");
    answered = drip.readable_within(300ms);
  }
  REQUIRE(answered);
  CHECK(drip.read_response().status == 408);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  const auto seen = rejections.get();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::pair<int, std::string>(408, "request body too slow"));
  const Rejection slow = rejections.get_full()[0];
  CHECK(slow.request.target == "/slow");
  CHECK(slow.body_bytes > 0);
  CHECK(slow.body_bytes < 100);
  CHECK(captured.count() == 0);
}

TEST_CASE("capture server: max_connections_per_peer closes one host's extra connections")
{
  Captured captured;
  ServerOptions options = loopback_options();
  options.max_connections_per_peer = 2;
  TestServer server(captured.handler(), options);
  auto first = std::make_unique<Client>(server.port());
  Client second(server.port());
  for (Client* client : {first.get(), &second}) {
    client->send(simple_get("/held"));
    CHECK(client->read_response().status == 200);
  }
  Client third(server.port());
  CHECK(third.closed_by_server()); // over the cap: closed at once, not queued
  first.reset();
  // A slot of that peer is free again (the server sees the close asynchronously).
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Client next(server.port());
    next.send(simple_get("/next"));
    char byte = 0;
    // Closed at once while the old slot is still counted; else the answer comes.
    served = next.readable_within(1s) && ::recv(next.fd(), &byte, 1, MSG_PEEK) == 1;
    if (!served) {
      std::this_thread::sleep_for(20ms);
    }
  }
  CHECK(served);
  second.send(simple_get("/still"));
  CHECK(second.read_response().body == "/still GET");
}

TEST_CASE("capture server: stop() closes idle connections and finishes the request in flight")
{
  std::latch entered(1);
  std::latch release(1);
  TestServer server([&](HttpRequest&& request, const Peer&) -> HttpResponse {
    if (request.target == "/slow") {
      entered.count_down();
      release.wait();
      return {200, {}, std::string(100000, 'z')};
    }
    return {200, {}, "quick"};
  });
  const int port = server.port();

  Client idle_fresh(port);
  Client idle_used(port);
  idle_used.send(simple_get("/quick"));
  CHECK(idle_used.read_response().body == "quick");

  Client busy(port);
  busy.send(simple_get("/slow"));
  entered.wait();

  server.server().stop();
  server.server().stop(); // idempotent
  // Idle connections close now, while the handler is still blocked.
  CHECK(idle_used.closed_by_server());
  CHECK(idle_fresh.closed_by_server());
  // serve() cannot return while a request is in flight.
  CHECK_FALSE(server.wait_served(100ms));

  release.count_down();
  const Response response = busy.read_response();
  CHECK(response.status == 200);
  CHECK(response.body == std::string(100000, 'z'));
  CHECK(response.header("Connection") == std::string("close"));
  CHECK(busy.closed_by_server());
  // Well under the 10 s bound that applies only to stuck connections.
  CHECK(server.wait_served(5s));

  Client refused(port);
  CHECK(refused.connect_errno() == ECONNREFUSED);
}

TEST_CASE("capture server: stop() from another thread before any request")
{
  auto bound = CaptureServer::bind(loopback_options());
  REQUIRE(bound.ok());
  CaptureServer& server = *bound.value();
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(std::make_unique<Client>(server.port()));
  }
  std::thread stopper;
  auto served = std::async(std::launch::async, [&] {
    server.serve([](HttpRequest&&, const Peer&) { return HttpResponse{}; });
  });
  // Make sure the idle connections were accepted before stopping.
  Client probe(server.port());
  probe.send(simple_get("/"));
  CHECK(probe.read_response().status == 200);
  stopper = std::thread([&] { server.stop(); });
  CHECK(served.wait_for(5s) == std::future_status::ready);
  stopper.join();
  for (auto& client : idle) {
    CHECK(client->closed_by_server());
  }
}

namespace {

// Decode a chunked body from `client` until the last chunk; returns the chunks.
std::vector<std::string>
read_chunks(Client& client)
{
  std::vector<std::string> chunks;
  while (true) {
    const std::string size_line = client.read_through("\r\n");
    REQUIRE_MESSAGE(!size_line.empty(), "stream ended without the last chunk");
    const std::size_t size = std::stoul(size_line, nullptr, 16);
    if (size == 0) {
      CHECK(client.read_through("\r\n") == "\r\n");
      return chunks;
    }
    chunks.push_back(client.read_exact(size));
    CHECK(client.read_exact(2) == "\r\n");
  }
}

} // namespace

TEST_CASE("capture server: a streaming response sends chunks as they are written")
{
  std::atomic<bool> head_called{false};
  TestServer server([&](HttpRequest&& request, const Peer&) -> HttpResponse {
    HttpResponse response;
    response.headers = {{"Content-Type", "text/event-stream"},
                        {"Content-Length", "5"}, // the server owns framing headers
                        {"Cache-Control", "no-cache"}};
    response.body = "ignored";
    const bool head = request.method == "HEAD";
    response.stream = [&head_called, head](rag::net::StreamWriter& writer) {
      if (head) {
        head_called = true;
      }
      CHECK(writer.write("one"));
      CHECK(writer.write("")); // nothing sent, not the end
      CHECK(writer.write(std::string(100000, 'x')));
      CHECK_FALSE(writer.stopping());
      CHECK(writer.peer_open());
      CHECK(writer.write("three"));
    };
    return response;
  });

  Client client(server.port());
  client.send(simple_get("/events"));
  const Response head = client.read_response();
  CHECK(head.status == 200);
  CHECK(head.header("Transfer-Encoding") == std::string("chunked"));
  CHECK(head.header("Connection") == std::string("close"));
  CHECK(head.header("Content-Type") == std::string("text/event-stream"));
  CHECK(head.header("Cache-Control") == std::string("no-cache"));
  CHECK_FALSE(head.header("Content-Length").has_value());
  const auto chunks = read_chunks(client);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0] == "one");
  CHECK(chunks[1] == std::string(100000, 'x'));
  CHECK(chunks[2] == "three");
  CHECK(client.closed_by_server());

  // HTTP/1.0 has no chunked coding: the raw bytes, ended by the close.
  Client old(server.port());
  old.send("GET /events HTTP/1.0\r\n\r\n");
  const Response old_head = old.read_response();
  CHECK_FALSE(old_head.header("Transfer-Encoding").has_value());
  CHECK(old.read_exact(3 + 100000 + 5) == "one" + std::string(100000, 'x') + "three");
  CHECK(old.closed_by_server());

  // HEAD gets the head only; the stream is not run.
  Client head_client(server.port());
  head_client.send("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(head_client.read_response(true).header("Transfer-Encoding") == std::string("chunked"));
  CHECK(head_client.closed_by_server());
  CHECK_FALSE(head_called.load());
}

TEST_CASE("capture server: a stream sees its peer go away")
{
  std::promise<bool> peer_open_after_close;
  std::promise<bool> write_after_close;
  std::latch closed(1);
  TestServer server([&](HttpRequest&&, const Peer&) -> HttpResponse {
    HttpResponse response;
    response.stream = [&](rag::net::StreamWriter& writer) {
      CHECK(writer.write("hello"));
      closed.wait();
      // The FIN may take a moment to arrive; peer_open() never blocks.
      bool open = true;
      for (int i = 0; i < 200 && open; ++i) {
        open = writer.peer_open();
        if (open) {
          std::this_thread::sleep_for(10ms);
        }
      }
      peer_open_after_close.set_value(open);
      // Writes fail at the latest once the reset comes back.
      bool written = true;
      for (int i = 0; i < 200 && written; ++i) {
        written = writer.write(std::string(1000, 'y'));
        if (written) {
          std::this_thread::sleep_for(10ms);
        }
      }
      write_after_close.set_value(written);
    };
    return response;
  });
  {
    Client client(server.port());
    client.send(simple_get("/"));
    (void)client.read_response();
    CHECK(client.read_through("hello\r\n").size() > 0);
  }
  closed.count_down();
  CHECK_FALSE(peer_open_after_close.get_future().get());
  CHECK_FALSE(write_after_close.get_future().get());
}

TEST_CASE("capture server: stop() ends waiting and blocked streams promptly")
{
  ServerOptions options = loopback_options();
  options.write_timeout_s = 120; // far longer than the test waits: only stop() can end it
  std::atomic<int> returned{0};
  std::atomic<bool> blocked_write_failed{false};
  std::atomic<int> blocks_written{0};
  std::latch both_running(2);
  TestServer server(
      [&](HttpRequest&& request, const Peer&) -> HttpResponse {
        HttpResponse response;
        if (request.target == "/wait") {
          response.stream = [&](rag::net::StreamWriter& writer) {
            CHECK(writer.write("waiting"));
            both_running.count_down();
            while (!writer.stopping()) {
              std::this_thread::sleep_for(5ms);
            }
            CHECK_FALSE(writer.write("after stop"));
            ++returned;
          };
        } else {
          // The peer never reads: writes fill the socket buffers and then block.
          response.stream = [&](rag::net::StreamWriter& writer) {
            const std::string block(256 * 1024, 'b');
            both_running.count_down();
            for (int i = 0; i < 4000; ++i) {
              if (!writer.write(block)) {
                blocked_write_failed = true;
                break;
              }
              ++blocks_written;
            }
            ++returned;
          };
        }
        return response;
      },
      options);

  Client waiting(server.port());
  waiting.send(simple_get("/wait"));
  Client stalled(server.port());
  stalled.send(simple_get("/flood"));
  (void)waiting.read_response();
  both_running.wait();
  // Stop only once the flood makes no progress any more: its write is blocked.
  int seen = -1;
  while (blocks_written.load() != seen) {
    seen = blocks_written.load();
    std::this_thread::sleep_for(200ms);
  }
  server.server().stop();
  CHECK(server.wait_served(5s));
  CHECK(returned.load() == 2);
  CHECK(blocked_write_failed.load());
}

TEST_CASE("capture server: a peer that stops reading is dropped after the write timeout")
{
  ServerOptions options = loopback_options();
  options.write_timeout_s = 1;
  std::promise<int> written_before_failure;
  TestServer server(
      [&](HttpRequest&& request, const Peer&) -> HttpResponse {
        HttpResponse response;
        if (request.target != "/flood") {
          return response;
        }
        response.stream = [&](rag::net::StreamWriter& writer) {
          const std::string block(256 * 1024, 'b');
          int written = 0;
          while (written < 100000 && writer.write(block)) {
            ++written;
          }
          written_before_failure.set_value(written);
        };
        return response;
      },
      options);
  Client stalled(server.port());
  stalled.send(simple_get("/flood"));
  auto future = written_before_failure.get_future();
  REQUIRE(future.wait_for(30s) == std::future_status::ready);
  CHECK(future.get() < 100000);
  // Other connections are served meanwhile and after.
  Client other(server.port());
  other.send(simple_get("/x"));
  const Response answer = other.read_response();
  CHECK(answer.status == 200);
  CHECK(answer.header("Content-Length") == std::string("0"));
}
