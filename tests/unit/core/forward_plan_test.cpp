#include "core/forward_plan.hpp"
#include "core/http_client.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using rag::core::ForwardContext;
using rag::core::Headers;
using rag::core::OutgoingRequest;
using rag::core::Target;

namespace {

Target
target_of(std::string_view text)
{
  auto target = rag::core::parse_target(text);
  REQUIRE_MESSAGE(target.ok(), text);
  return *target;
}

OutgoingRequest
plan(const Target& target, const Headers& headers, std::string body = {},
     std::string_view method = "POST", ForwardContext context = {"10.0.0.7", "http", false})
{
  auto request = rag::core::plan_request(
      target, method, "/hook?x=1", headers,
      body.empty() ? nullptr : std::make_shared<const std::string>(std::move(body)), context);
  REQUIRE(request.ok());
  return std::move(request).value();
}

} // namespace

TEST_CASE("parse_target: short forms and URLs")
{
  struct Row
  {
    const char* input;
    const char* scheme;
    const char* host;
    int port;
    const char* path;
    const char* query;
    const char* url;
  };
  const std::vector<Row> rows = {
      {"3000", "http", "127.0.0.1", 3000, "", "", "http://127.0.0.1:3000"},
      {":8080", "http", "127.0.0.1", 8080, "", "", "http://127.0.0.1:8080"},
      {"localhost:3000", "http", "localhost", 3000, "", "", "http://localhost:3000"},
      {"localhost:3000/hooks", "http", "localhost", 3000, "/hooks", "",
       "http://localhost:3000/hooks"},
      {"http://h:3000", "http", "h", 3000, "", "", "http://h:3000"},
      {"http://h:3000/", "http", "h", 3000, "", "", "http://h:3000"},
      {"http://h:3000/path?q=1", "http", "h", 3000, "/path", "q=1", "http://h:3000/path?q=1"},
      {"http://h/p/#frag", "http", "h", 80, "/p/", "", "http://h/p/"},
      {"HTTPS://example.com", "https", "example.com", 443, "", "", "https://example.com"},
      {"https://example.com:8443/x", "https", "example.com", 8443, "/x", "",
       "https://example.com:8443/x"},
      {"http://[::1]:3000/w", "http", "::1", 3000, "/w", "", "http://[::1]:3000/w"},
      {"[::1]:9", "http", "::1", 9, "", "", "http://[::1]:9"},
      {"http://h:3000?k=v", "http", "h", 3000, "", "k=v", "http://h:3000?k=v"},
      // PORT/PATH, the form the README's fan-out example uses, is this machine too.
      {"4000/hooks", "http", "127.0.0.1", 4000, "/hooks", "", "http://127.0.0.1:4000/hooks"},
      {":4000/hooks", "http", "127.0.0.1", 4000, "/hooks", "", "http://127.0.0.1:4000/hooks"},
      {"3000/webhooks/github", "http", "127.0.0.1", 3000, "/webhooks/github", "",
       "http://127.0.0.1:3000/webhooks/github"},
      {"3000?k=v", "http", "127.0.0.1", 3000, "", "k=v", "http://127.0.0.1:3000?k=v"},
      {"3000/", "http", "127.0.0.1", 3000, "", "", "http://127.0.0.1:3000"},
      {"3000#frag", "http", "127.0.0.1", 3000, "", "", "http://127.0.0.1:3000"},
      {"http://127.0.0.1:3000/x", "http", "127.0.0.1", 3000, "/x", "", "http://127.0.0.1:3000/x"},
      {"http://10.0.0.254", "http", "10.0.0.254", 80, "", "", "http://10.0.0.254"},
      {"http://web3:80/x", "http", "web3", 80, "/x", "", "http://web3/x"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.input);
    const Target target = target_of(row.input);
    CHECK(target.scheme == row.scheme);
    CHECK(target.host == row.host);
    CHECK(target.port == row.port);
    CHECK(target.path == row.path);
    CHECK(target.query == row.query);
    CHECK(target.url == row.url);
  }
}

TEST_CASE("parse_target: bad targets are usage errors naming the problem")
{
  struct Row
  {
    const char* input;
    const char* message_part;
  };
  const std::vector<Row> rows = {
      {"", "empty"},
      {"0", "1 to 65535"},
      {"70000", "1 to 65535"},
      {"ftp://h/x", "scheme 'ftp'"},
      {"http://user:pw@h:3000", "credentials"},
      {"http://:3000", "no host"},
      {"http://h:", "port ''"},
      {"http://h:abc", "port 'abc'"},
      {"::1:3000", "brackets"},
      {"http://[::1:3000", "']'"},
      {"http://h a:3000", "spaces"},
      {"http://h:3000/a\r\nX: y", "control"},
      {"http://ex%ample.com", "not a valid host name"},
      // A host that is a number would be read by the resolver as an IPv4 address in one
      // of inet_aton's short forms ("4000" is 0.0.15.160): an error, never a lookup.
      {"http://4000/hooks", "is a number"},
      {"https://4000", "is a number"},
      {"4000:80", "is a number"},
      {"http://127.1:3000", "is a number"},
      {"http://2130706433/", "is a number"},
      {"http://0x7f000001/", "is a number"},
      {"http://0x7f.0.0.1/", "is a number"},
      {"http://010.0.0.1/", "is a number"},
      {"http://1.2.3.4.5/", "is a number"},
      {"http://256.0.0.1/", "is a number"},
      {"http://example.123/", "is a number"},
      {"http://127.0.0.1./", "is a number"},
      {"70000/hooks", "1 to 65535"},
      {"0/hooks", "1 to 65535"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.input);
    auto target = rag::core::parse_target(row.input);
    REQUIRE_FALSE(target.ok());
    CHECK(target.error().exit_code == 2);
    CHECK(target.error().message.find(row.message_part) != std::string::npos);
    CHECK_FALSE(target.error().hint.empty());
  }
}

TEST_CASE("host_header_value: port only when not the default, IPv6 bracketed")
{
  CHECK(rag::core::host_header_value(target_of("3000")) == "127.0.0.1:3000");
  CHECK(rag::core::host_header_value(target_of("http://example.com/x")) == "example.com");
  CHECK(rag::core::host_header_value(target_of("https://example.com:443")) == "example.com");
  CHECK(rag::core::host_header_value(target_of("https://example.com:80")) == "example.com:80");
  CHECK(rag::core::host_header_value(target_of("http://[::1]:3000")) == "[::1]:3000");
}

TEST_CASE("path mapping table for --forward-to")
{
  struct Row
  {
    const char* target;
    const char* incoming;
    const char* sent;
  };
  const std::vector<Row> rows = {
      // No path, or just "/": the incoming path and query go through untouched.
      {"3000", "/a/b?x=1", "/a/b?x=1"},
      {"http://h:3000", "/", "/"},
      {"http://h:3000/", "/a/b?x=1", "/a/b?x=1"},
      {"http://h:3000", "/p%2Fq;r,s?a=%20&b=a+b&a=2", "/p%2Fq;r,s?a=%20&b=a+b&a=2"},
      {"http://h:3000", "/x?", "/x?"},
      {"http://h:3000", "/caf\xc3\xa9?q=\xff", "/caf\xc3\xa9?q=\xff"},
      // A path replaces the incoming path; the incoming query stays.
      {"http://h:3000/hooks", "/a/b?x=1&y=a+b", "/hooks?x=1&y=a+b"},
      {"http://h:3000/hooks", "/a/b", "/hooks"},
      {"http://h:3000/hooks/", "/a", "/hooks/"},
      {"localhost:3000/api/stripe", "/?id=evt_1", "/api/stripe?id=evt_1"},
      // A query in the target goes first.
      {"http://h:3000/hooks?k=v", "/a?x=1", "/hooks?k=v&x=1"},
      {"http://h:3000/hooks?k=v", "/a", "/hooks?k=v"},
      {"http://h:3000?k=v", "/a/b?x=1", "/a/b?k=v&x=1"},
      // Absolute-form request targets contribute their path.
      {"3000", "http://example.com/abs?q=1", "/abs?q=1"},
      {"3000", "http://example.com", "/"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.target);
    CAPTURE(row.incoming);
    CHECK(rag::core::map_target(target_of(row.target), row.incoming) == row.sent);
  }
}

TEST_CASE("path mapping table for --route")
{
  struct Row
  {
    const char* route;
    const char* incoming;
    bool matches;
    const char* sent; // when it matches
  };
  const std::vector<Row> rows = {
      {"/github=3000", "/github", true, "/"},
      {"/github=3000", "/github/", true, "/"},
      {"/github=3000", "/github/push?x=1", true, "/push?x=1"},
      {"/github=3000", "/github?x=1", true, "/?x=1"},
      {"/github=3000", "/github/a/b/", true, "/a/b/"},
      {"/github=3000", "/githubx", false, ""},
      {"/github=3000", "/git", false, ""},
      {"/github=3000", "/", false, ""},
      {"/github=3000", "/GitHub", false, ""},
      {"/github/=3000", "/github/a", true, "/a"},
      {"/a/b=3000", "/a/b/c?d", true, "/c?d"},
      {"/a/b=3000", "/a/bc", false, ""},
      {"/a/b=3000", "/a", false, ""},
      // A URL with a path replaces the whole path; the query stays.
      {"/github=http://h:3000/hooks/gh", "/github/push?x=1", true, "/hooks/gh?x=1"},
      {"/github=http://h:3000/hooks/gh", "/github", true, "/hooks/gh"},
      {"/stripe=https://h/s?src=rag", "/stripe/x?y=2", true, "/s?src=rag&y=2"},
      // "/" matches everything and strips nothing.
      {"/=3000", "/anything?q", true, "/anything?q"},
      {"/=3000", "/", true, "/"},
      {"/=3000", "*", false, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.route);
    CAPTURE(row.incoming);
    auto route = rag::core::parse_route(row.route);
    REQUIRE(route.ok());
    CHECK(rag::core::route_matches(route->prefix, row.incoming) == row.matches);
    if (row.matches) {
      CHECK(rag::core::map_target(route->target, row.incoming, route->prefix) == row.sent);
    }
  }
}

TEST_CASE("parse_route: normalises the prefix and rejects bad specs")
{
  auto route = rag::core::parse_route("/github/=http://h:3000/a?b=c=d");
  REQUIRE(route.ok());
  CHECK(route->prefix == "/github");
  CHECK(route->target.path == "/a");
  CHECK(route->target.query == "b=c=d");

  auto root = rag::core::parse_route("/=3000");
  REQUIRE(root.ok());
  CHECK(root->prefix.empty());

  for (const char* bad :
       {"/github", "github=3000", "=3000", "/a b=3000", "/a?x=3000", "/github=ftp://x"}) {
    CAPTURE(bad);
    auto parsed = rag::core::parse_route(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().exit_code == 2);
  }
}

TEST_CASE("forward_headers: order, case and duplicates kept; Host rewritten in place")
{
  const Headers incoming = {{"Zeta", "1"},
                            {"Host", "abc.ngrok.app"},
                            {"alpha", "2"},
                            {"X-Dup", "a"},
                            {"x-dup", "b"},
                            {"X-Empty", ""},
                            {"Content-Type", "application/json"},
                            {"Content-Length", "2"}};
  const OutgoingRequest request = plan(target_of("3000"), incoming, "{}");
  const Headers expected = {{"Zeta", "1"},
                            {"Host", "127.0.0.1:3000"},
                            {"alpha", "2"},
                            {"X-Dup", "a"},
                            {"x-dup", "b"},
                            {"X-Empty", ""},
                            {"Content-Type", "application/json"},
                            {"Content-Length", "2"},
                            {"X-Forwarded-For", "10.0.0.7"},
                            {"X-Forwarded-Host", "abc.ngrok.app"},
                            {"X-Forwarded-Proto", "http"}};
  CHECK(request.headers == expected);
  CHECK(request.method == "POST");
  CHECK(request.target == "/hook?x=1");
  CHECK(request.body_view() == "{}");
  CHECK(request.refused_headers.empty());
}

TEST_CASE("forward_headers: --preserve-host keeps the sender's Host")
{
  const Headers incoming = {{"host", "abc.ngrok.app"}, {"Host", "second.example"}};
  const OutgoingRequest request =
      plan(target_of("3000"), incoming, {}, "GET", {"10.0.0.7", "https", true});
  const Headers expected = {{"host", "abc.ngrok.app"},
                            {"X-Forwarded-For", "10.0.0.7"},
                            {"X-Forwarded-Host", "abc.ngrok.app"},
                            {"X-Forwarded-Proto", "https"}};
  CHECK(request.headers == expected);
}

TEST_CASE("forward_headers: a missing Host is added first")
{
  const OutgoingRequest request =
      plan(target_of("http://example.com/x"), {{"A", "1"}}, {}, "GET", {"", "http", false});
  const Headers expected = {{"Host", "example.com"}, {"A", "1"}, {"X-Forwarded-Proto", "http"}};
  CHECK(request.headers == expected);
}

TEST_CASE("forward_headers: hop-by-hop and Connection-named headers are dropped")
{
  const Headers incoming = {{"Host", "h"},
                            {"Connection", "keep-alive, X-Secret-Hop"},
                            {"Keep-Alive", "timeout=5"},
                            {"X-Secret-Hop", "drop me"},
                            {"Proxy-Connection", "keep-alive"},
                            {"Proxy-Authorization", "Basic eA=="},
                            {"Proxy-Authenticate", "Basic"},
                            {"TE", "trailers"},
                            {"Trailer", "X-T"},
                            {"Upgrade", "websocket"},
                            {"connection", "x-other"},
                            {"X-Other", "drop me too"},
                            {"X-Keep", "kept"},
                            {"Content-Length", "0"}};
  const OutgoingRequest request = plan(target_of("3000"), incoming, {}, "POST");
  const Headers expected = {{"Host", "127.0.0.1:3000"}, {"X-Keep", "kept"},
                            {"Content-Length", "0"},    {"X-Forwarded-For", "10.0.0.7"},
                            {"X-Forwarded-Host", "h"},  {"X-Forwarded-Proto", "http"}};
  CHECK(request.headers == expected);
}

TEST_CASE("forward_headers: a chunked body goes out with Content-Length where TE was")
{
  const Headers incoming = {{"Host", "h"},
                            {"Transfer-Encoding", "chunked"},
                            {"Content-Encoding", "gzip"},
                            {"X-After", "1"}};
  const OutgoingRequest request = plan(target_of("3000"), incoming, "0123456789");
  const Headers expected = {{"Host", "127.0.0.1:3000"},      {"Content-Length", "10"},
                            {"Content-Encoding", "gzip"},    {"X-After", "1"},
                            {"X-Forwarded-For", "10.0.0.7"}, {"X-Forwarded-Host", "h"},
                            {"X-Forwarded-Proto", "http"}};
  CHECK(request.headers == expected);
}

TEST_CASE("forward_headers: Content-Length always agrees with the body")
{
  ForwardContext bare{"", "", false};
  SUBCASE("a wrong or duplicated Content-Length is replaced in place, case kept")
  {
    const OutgoingRequest request =
        plan(target_of("3000"), {{"content-length", "99"}, {"A", "1"}, {"Content-Length", "99"}},
             "abc", "PUT", bare);
    const Headers expected = {{"Host", "127.0.0.1:3000"}, {"content-length", "3"}, {"A", "1"}};
    CHECK(request.headers == expected);
  }
  SUBCASE("a body without framing gets Content-Length at the end")
  {
    const OutgoingRequest request = plan(target_of("3000"), {{"A", "1"}}, "abc", "DELETE", bare);
    const Headers expected = {{"Host", "127.0.0.1:3000"}, {"A", "1"}, {"Content-Length", "3"}};
    CHECK(request.headers == expected);
  }
  SUBCASE("POST without a body gets Content-Length: 0; GET gets none")
  {
    CHECK(plan(target_of("3000"), {}, {}, "POST", bare).headers ==
          Headers{{"Host", "127.0.0.1:3000"}, {"Content-Length", "0"}});
    CHECK(plan(target_of("3000"), {}, {}, "GET", bare).headers ==
          Headers{{"Host", "127.0.0.1:3000"}});
  }
}

TEST_CASE("forward_headers: X-Forwarded-* extend or respect what a proxy already set")
{
  const Headers incoming = {{"X-Forwarded-For", "1.1.1.1"},
                            {"Host", "h"},
                            {"x-forwarded-for", "2.2.2.2, 3.3.3.3"},
                            {"X-Forwarded-Proto", "https"},
                            {"x-forwarded-host", "public.example"}};
  const OutgoingRequest request = plan(target_of("3000"), incoming, {}, "GET");
  const Headers expected = {{"X-Forwarded-For", "1.1.1.1"},
                            {"Host", "127.0.0.1:3000"},
                            {"x-forwarded-for", "2.2.2.2, 3.3.3.3, 10.0.0.7"},
                            {"X-Forwarded-Proto", "https"},
                            {"x-forwarded-host", "public.example"}};
  CHECK(request.headers == expected);
}

TEST_CASE("forward_headers: CR, LF or NUL in a header drops it and reports it")
{
  const Headers incoming = {{"Host", "h"},
                            {"X-Inject", "a\r\nX-Evil: 1"},
                            {"X-Lf", "a\nb"},
                            {"X-Nul", std::string("a\0b", 3)},
                            {"Bad\rName", "v"},
                            {"Bad Name", "v"},
                            {"X-Ok", "tab\tand \xff bytes"}};
  const OutgoingRequest request = plan(target_of("3000"), incoming, {}, "GET", {"", "http", false});
  const Headers expected = {{"Host", "127.0.0.1:3000"},
                            {"X-Ok", "tab\tand \xff bytes"},
                            {"X-Forwarded-Host", "h"},
                            {"X-Forwarded-Proto", "http"}};
  CHECK(request.headers == expected);
  CHECK(request.refused_headers ==
        std::vector<std::string>{"X-Inject", "X-Lf", "X-Nul", "Bad?Name", "Bad Name"});
  for (const auto& [name, value] : request.headers) {
    CHECK(value.find_first_of("\r\n") == std::string::npos);
  }
}

TEST_CASE("plan_request: the body is shared, never copied per target")
{
  auto body = std::make_shared<const std::string>(std::string(1 << 20, 'x'));
  const Target a = target_of("3000");
  const Target b = target_of("http://h:4000/other");
  auto first = rag::core::plan_request(a, "POST", "/p", {}, body, {});
  auto second = rag::core::plan_request(b, "POST", "/p", {}, body, {});
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->body.get() == body.get());
  CHECK(second->body.get() == body.get());
  CHECK(first->body_view().data() == body->data());
}

TEST_CASE("plan_request: a method or target that cannot go on a request line is an error")
{
  const Target target = target_of("3000");
  CHECK_FALSE(rag::core::plan_request(target, "GE T", "/", {}, nullptr, {}).ok());
  CHECK_FALSE(rag::core::plan_request(target, "", "/", {}, nullptr, {}).ok());
  CHECK_FALSE(rag::core::plan_request(target, "GET", "/a b", {}, nullptr, {}).ok());
  CHECK_FALSE(rag::core::plan_request(target, "GET", "/a\r\nX: 1", {}, nullptr, {}).ok());
  CHECK_FALSE(rag::core::plan_request(target, "GET", "", {}, nullptr, {}).ok());
  CHECK(rag::core::plan_request(target, "PROPFIND", "/dav", {}, nullptr, {}).ok());
}

TEST_CASE("serialize_request_head: exact bytes, and refusals")
{
  OutgoingRequest request;
  request.method = "POST";
  request.target = "/a?q=a+b,c;d%20e";
  request.headers = {{"Zeta", "1"}, {"X-Empty", ""}, {"alpha", "2"}, {"Content-Length", "3"}};
  request.body = std::make_shared<const std::string>("a\0b", 3);
  auto head = rag::core::serialize_request_head(request);
  REQUIRE(head.ok());
  CHECK(*head == "POST /a?q=a+b,c;d%20e HTTP/1.1\r\nZeta: 1\r\nX-Empty: \r\nalpha: 2\r\n"
                 "Content-Length: 3\r\n\r\n");

  SUBCASE("Content-Length is appended when missing and the body is not empty")
  {
    request.headers = {{"A", "1"}};
    auto appended = rag::core::serialize_request_head(request);
    REQUIRE(appended.ok());
    CHECK(*appended == "POST /a?q=a+b,c;d%20e HTTP/1.1\r\nA: 1\r\nContent-Length: 3\r\n\r\n");
  }
  SUBCASE("a Content-Length that disagrees with the body is refused")
  {
    request.headers = {{"Content-Length", "4"}};
    CHECK_FALSE(rag::core::serialize_request_head(request).ok());
  }
  SUBCASE("Transfer-Encoding is refused")
  {
    request.headers = {{"Transfer-Encoding", "chunked"}};
    CHECK_FALSE(rag::core::serialize_request_head(request).ok());
  }
  SUBCASE("CR or LF anywhere is refused")
  {
    request.headers = {{"X", "a\r\nY: b"}};
    CHECK_FALSE(rag::core::serialize_request_head(request).ok());
    request.headers = {};
    request.target = "/a\nb";
    CHECK_FALSE(rag::core::serialize_request_head(request).ok());
  }
}

TEST_CASE("strip_hop_by_hop: for relaying a target's response")
{
  const Headers response = {{"Content-Type", "text/plain"},
                            {"Connection", "keep-alive, X-H"},
                            {"Keep-Alive", "timeout=5"},
                            {"Transfer-Encoding", "chunked"},
                            {"X-H", "1"},
                            {"Set-Cookie", "a=1"},
                            {"Set-Cookie", "b=2"}};
  const Headers expected = {
      {"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
  CHECK(rag::core::strip_hop_by_hop(response) == expected);
}

TEST_CASE("remote_ip_of and timeout_message")
{
  CHECK(rag::core::remote_ip_of("127.0.0.1:5555") == "127.0.0.1");
  CHECK(rag::core::remote_ip_of("[::1]:5555") == "::1");
  CHECK(rag::core::remote_ip_of("10.1.2.3") == "10.1.2.3");
  CHECK(rag::core::remote_ip_of("::1") == "::1");
  CHECK(rag::core::timeout_message(std::chrono::seconds(30)) == "timeout after 30s");
  CHECK(rag::core::timeout_message(std::chrono::milliseconds(300)) == "timeout after 300ms");
  CHECK(rag::core::timeout_message(std::chrono::milliseconds(1500)) == "timeout after 1.5s");
  CHECK(rag::core::timeout_message(std::chrono::milliseconds(2050)) == "timeout after 2.05s");
}

TEST_CASE("host_ends_in_number and is_dotted_quad: what the resolver would read as IPv4")
{
  using rag::core::host_ends_in_number;
  using rag::core::is_dotted_quad;
  CHECK(host_ends_in_number("4000"));
  CHECK(host_ends_in_number("127.1"));
  CHECK(host_ends_in_number("0x7f"));
  CHECK(host_ends_in_number("a.0X1F"));
  CHECK(host_ends_in_number("example.123"));
  CHECK(host_ends_in_number("127.0.0.1."));
  CHECK_FALSE(host_ends_in_number("localhost"));
  CHECK_FALSE(host_ends_in_number("web3"));
  CHECK_FALSE(host_ends_in_number("123.example"));
  CHECK(host_ends_in_number("0x")); // inet_aton and WHATWG read it as 0
  CHECK_FALSE(host_ends_in_number("0xg1"));
  CHECK(is_dotted_quad("127.0.0.1"));
  CHECK(is_dotted_quad("0.0.0.0"));
  CHECK(is_dotted_quad("255.255.255.255"));
  CHECK_FALSE(is_dotted_quad("256.0.0.1"));
  CHECK_FALSE(is_dotted_quad("127.1"));
  CHECK_FALSE(is_dotted_quad("1.2.3.4.5"));
  CHECK_FALSE(is_dotted_quad("010.0.0.1"));
  CHECK_FALSE(is_dotted_quad("1..2.3"));
  CHECK_FALSE(is_dotted_quad("1.2.3.4."));
  CHECK_FALSE(is_dotted_quad("4000"));
  CHECK_FALSE(is_dotted_quad("9999.0.0.1"));
}

TEST_CASE("parse_target: every target form the docs and --help use stays on this machine")
{
  // The forms from README.md, docs/ and the commands' --help examples. A target without a
  // host must mean loopback; a named host is the user's own choice.
  for (const char* form :
       {"3000", ":3000", "3001", "4000/hooks", "3000/hooks", "3000/webhooks",
        "3000/webhooks/github", "3000/webhooks/stripe", "localhost:3000", "http://127.0.0.1:3000",
        "http://127.0.0.1:4000/hooks", "http://[::1]:3000/w"}) {
    CAPTURE(form);
    const Target target = target_of(form);
    CHECK((target.host == "127.0.0.1" || target.host == "::1" || target.host == "localhost"));
  }
}
