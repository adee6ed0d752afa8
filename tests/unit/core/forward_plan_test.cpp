#include "core/forward_plan.hpp"
#include "core/http_client.hpp"

#include "support/targets.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using rag::core::ForwardContext;
using rag::core::Headers;
using rag::core::OutgoingRequest;
using rag::core::Target;
using rag::test::target_of;

namespace {

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
