#include "core/http_response_parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

using rag::core::Headers;
using rag::core::HttpResponseParser;
using State = HttpResponseParser::State;

using namespace std::string_literals;

namespace {

constexpr std::size_t k_big = 1 << 20;

struct Case
{
  const char* name = "";
  std::string wire{};
  bool head_request = false;
  std::size_t max_body = k_big;
  bool until_close = false; // the body ends with the connection: complete only on finish()
  int status = 0;
  std::string reason{};
  Headers headers{};
  std::string body{};
  bool truncated = false;
  bool reusable = false;
};

std::string
describe(const Headers& headers)
{
  std::string text;
  for (const auto& [name, value] : headers) {
    text += "[" + name + "|" + value + "]";
  }
  return text;
}

// Feed `c.wire` in pieces ending at each of `cuts` (then the rest) and compare everything
// with the expectation; returns "" when all matches, else what differed. The response must
// complete exactly when its last byte arrives (or on finish() for close-delimited bodies).
std::string
run_case(const Case& c, const std::vector<std::size_t>& cuts)
{
  HttpResponseParser parser(c.head_request, c.max_body);
  std::string problems;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : c.wire.size();
    const State state = parser.feed(std::string_view(c.wire).substr(from, to - from));
    const bool all_fed = to == c.wire.size();
    const State expected = all_fed && !c.until_close ? State::complete : State::need_more;
    if (state != expected) {
      return "state " + std::to_string(static_cast<int>(state)) + " after " + std::to_string(to) +
             " bytes (error: '" + parser.error() + "')";
    }
    from = to;
  }
  if (parser.finish() != State::complete) {
    return "finish(): " + parser.error();
  }
  if (parser.status() != c.status) {
    problems += " status " + std::to_string(parser.status());
  }
  if (parser.reason() != c.reason) {
    problems += " reason '" + parser.reason() + "'";
  }
  if (parser.headers() != c.headers) {
    problems += " headers " + describe(parser.headers());
  }
  if (parser.body() != c.body) {
    problems += " body '" + parser.body() + "'";
  }
  if (parser.body_truncated() != c.truncated) {
    problems += " truncated";
  }
  if (parser.reusable() != c.reusable) {
    problems += " reusable";
  }
  if (parser.bytes_fed() != c.wire.size() || !parser.started() || !parser.head_complete()) {
    problems += " bytes_fed/started/head_complete";
  }
  return problems;
}

// Whole, byte by byte, and split in two at every point (0 and size: one empty feed).
void
check_all_splits(const Case& c)
{
  const std::string name = c.name;
  CAPTURE(name);
  CHECK(run_case(c, {}) == "");
  std::vector<std::size_t> bytewise;
  for (std::size_t i = 1; i < c.wire.size(); ++i) {
    bytewise.push_back(i);
  }
  CHECK(run_case(c, bytewise) == "");
  for (std::size_t split = 0; split <= c.wire.size(); ++split) {
    CAPTURE(split);
    CHECK(run_case(c, {split}) == "");
  }
}

std::vector<Case>
success_cases()
{
  std::vector<Case> cases;
  cases.push_back({.name = "content-length body",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 13\r\n\r\n{\"ok\": true}\n",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Type", "application/json"}, {"Content-Length", "13"}},
                   .body = "{\"ok\": true}\n",
                   .reusable = true});
  cases.push_back({.name = "chunked with extensions and trailers",
                   .wire = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                           "5;name=val\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n"
                           "a\r\n0123456789\r\nC\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
                           "000;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
                   .status = 201,
                   .reason = "Created",
                   .headers = {{"Transfer-Encoding", "chunked"}, {"X-A", "1"}},
                   .body = "hello world0123456789\r\n\r\n\r\n\r\n\r\n\r\n",
                   .reusable = true});
  cases.push_back({.name = "body delimited by close",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                           "until the end\r\n\r\nHTTP/1.1 200 OK\r\n",
                   .until_close = true,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Type", "text/plain"}},
                   .body = "until the end\r\n\r\nHTTP/1.1 200 OK\r\n",
                   .reusable = false});
  cases.push_back({.name = "empty body delimited by close",
                   .wire = "HTTP/1.1 500 Internal Server Error\r\n\r\n",
                   .until_close = true,
                   .status = 500,
                   .reason = "Internal Server Error",
                   .reusable = false});
  cases.push_back({.name = "HEAD with Content-Length",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
                   .head_request = true,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "1234"}},
                   .reusable = true});
  cases.push_back({.name = "HEAD with chunked",
                   .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                   .head_request = true,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked"}},
                   .reusable = true});
  cases.push_back({.name = "204 with Content-Length",
                   .wire = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                   .status = 204,
                   .reason = "No Content",
                   .headers = {{"Content-Length", "10"}},
                   .reusable = true});
  cases.push_back({.name = "304 with Content-Length",
                   .wire = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n",
                   .status = 304,
                   .reason = "Not Modified",
                   .headers = {{"ETag", "\"x\""}, {"Content-Length", "99"}},
                   .reusable = true});
  cases.push_back({.name = "100-continue then 200",
                   .wire = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "2"}},
                   .body = "ok",
                   .reusable = true});
  cases.push_back({.name = "102 and 103 then 201",
                   .wire = "HTTP/1.1 102 Processing\r\n\r\n"
                           "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                           "HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
                   .status = 201,
                   .reason = "Created",
                   .headers = {{"Location", "/x"}, {"Content-Length", "0"}},
                   .reusable = true});
  cases.push_back({.name = "duplicates, odd case, order, junk lines",
                   .wire = "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nX-Zeta: z\r\n"
                           "this line is junk\r\n: empty name\r\nBad Name: x\r\n"
                           "SET-COOKIE: b=2\r\nSet-Cookie: c=3\r\nX-Empty:\r\n"
                           "X-Spaces: \t v :v \t\r\nSpaced-Name \t: s\r\n"
                           "cOnTeNt-LeNgTh: 3\r\n\r\nabc",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"set-cookie", "a=1"},
                               {"X-Zeta", "z"},
                               {"SET-COOKIE", "b=2"},
                               {"Set-Cookie", "c=3"},
                               {"X-Empty", ""},
                               {"X-Spaces", "v :v"},
                               {"Spaced-Name", "s"},
                               {"cOnTeNt-LeNgTh", "3"}},
                   .body = "abc",
                   .reusable = true});
  cases.push_back({.name = "obs-fold",
                   .wire = "HTTP/1.1 200 OK\r\n  fold before any header\r\n"
                           "X-Long: part one\r\n  part two \r\n\tpart three\r\n \r\n"
                           "X-Empty:\r\n later\r\njunk\r\n folded junk\r\n"
                           "Content-Length:\r\n 1\r\n\r\nz",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"X-Long", "part one part two part three"},
                               {"X-Empty", "later"},
                               {"Content-Length", "1"}},
                   .body = "z",
                   .reusable = true});
  cases.push_back({.name = "bare LF, content-length",
                   .wire = "HTTP/1.1 200 OK\nContent-Length: 4\nX-A: b\r\n\nbody",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "4"}, {"X-A", "b"}},
                   .body = "body",
                   .reusable = true});
  cases.push_back({.name = "bare LF, chunked",
                   .wire = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n2;x\r\nde\r\n"
                           "0\nT: 1\n\n",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked"}},
                   .body = "abcde",
                   .reusable = true});
  cases.push_back({.name = "HTTP/1.0 without keep-alive",
                   .wire = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "2"}},
                   .body = "hi",
                   .reusable = false});
  cases.push_back(
      {.name = "HTTP/1.0 with keep-alive",
       .wire = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi",
       .status = 200,
       .reason = "OK",
       .headers = {{"Connection", "Keep-Alive"}, {"Content-Length", "2"}},
       .body = "hi",
       .reusable = true});
  cases.push_back({.name = "Connection: close",
                   .wire = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Connection", "close"}, {"Content-Length", "2"}},
                   .body = "hi",
                   .reusable = false});
  cases.push_back({.name = "Connection: close in a list",
                   .wire = "HTTP/1.1 200 OK\r\nconnection: keep-alive, CLOSE\r\n"
                           "Content-Length: 0\r\n\r\n",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"connection", "keep-alive, CLOSE"}, {"Content-Length", "0"}},
                   .reusable = false});
  cases.push_back({.name = "binary body with NUL bytes",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n\0\r\n\xff\n\0\0\r\x80"s,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "9"}},
                   .body = "\0\r\n\xff\n\0\0\r\x80"s,
                   .reusable = true});
  cases.push_back(
      {.name = "binary chunked body, gzip kept as is",
       .wire = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
               "Transfer-Encoding: gzip, chunked\r\n\r\n"
               "4\r\n\x1f\x8b\0\r\r\n3\r\n\n\0\n\r\n0\r\n\r\n"s,
       .status = 200,
       .reason = "OK",
       .headers = {{"Content-Encoding", "gzip"}, {"Transfer-Encoding", "gzip, chunked"}},
       .body = "\x1f\x8b\0\r\n\0\n"s,
       .reusable = true});
  cases.push_back({.name = "status line without reason",
                   .wire = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
                   .status = 200,
                   .headers = {{"Content-Length", "0"}},
                   .reusable = true});
  cases.push_back({.name = "status line with empty reason",
                   .wire = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
                   .status = 404,
                   .headers = {{"Content-Length", "0"}},
                   .reusable = true});
  cases.push_back({.name = "reason with spaces, CR and NUL neutralised in fields",
                   .wire = "HTTP/1.1 418 I'm a\r teapot \r\n"
                           "X-Evil: a\rInjected: b\0c\r\nContent-Length: 0\r\n\r\n"s,
                   .status = 418,
                   .reason = "I'm a  teapot ",
                   .headers = {{"X-Evil", "a Injected: b c"}, {"Content-Length", "0"}},
                   .reusable = true});
  cases.push_back({.name = "101 switching protocols",
                   .wire = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n\r\n",
                   .status = 101,
                   .reason = "Switching Protocols",
                   .headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
                   .reusable = false});
  cases.push_back(
      {.name = "equal Content-Length values",
       .wire = "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n"
               "Content-Length: 003\r\n\r\nxyz",
       .status = 200,
       .reason = "OK",
       .headers = {{"Content-Length", "3, 3"}, {"content-length", "3"}, {"Content-Length", "003"}},
       .body = "xyz",
       .reusable = true});
  cases.push_back({.name = "transfer-encoding not ending in chunked: until close",
                   .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc",
                   .until_close = true,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked, gzip"}},
                   .body = "3\r\nabc",
                   .reusable = false});
  cases.push_back({.name = "transfer-encoding with Content-Length: chunked, then close",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "99"}, {"Transfer-Encoding", "chunked"}},
                   .body = "ab",
                   .reusable = false});
  cases.push_back({.name = "HTTP/1.0 with chunked: then close",
                   .wire = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Connection", "keep-alive"}, {"Transfer-Encoding", "chunked"}},
                   .body = "ab",
                   .reusable = false});
  // max_body: the response completes at the limit without waiting for the rest.
  cases.push_back({.name = "content-length over max_body",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd",
                   .max_body = 4,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "10"}},
                   .body = "abcd",
                   .truncated = true,
                   .reusable = false});
  cases.push_back({.name = "content-length over max_body 0",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                   .max_body = 0,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "10"}},
                   .truncated = true,
                   .reusable = false});
  cases.push_back({.name = "content-length exactly max_body",
                   .wire = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd",
                   .max_body = 4,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Content-Length", "4"}},
                   .body = "abcd",
                   .reusable = true});
  cases.push_back({.name = "chunked over max_body inside a chunk",
                   .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n4\r\nde",
                   .max_body = 5,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked"}},
                   .body = "abcde",
                   .truncated = true,
                   .reusable = false});
  cases.push_back({.name = "chunked over max_body at a chunk boundary",
                   .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n1;x\r\n",
                   .max_body = 5,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked"}},
                   .body = "abcde",
                   .truncated = true,
                   .reusable = false});
  cases.push_back({.name = "chunked exactly max_body",
                   .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                   .max_body = 5,
                   .status = 200,
                   .reason = "OK",
                   .headers = {{"Transfer-Encoding", "chunked"}},
                   .body = "abcde",
                   .reusable = true});
  cases.push_back({.name = "close-delimited over max_body",
                   .wire = "HTTP/1.1 200 OK\r\n\r\nabcdef",
                   .max_body = 5,
                   .status = 200,
                   .reason = "OK",
                   .body = "abcde",
                   .truncated = true,
                   .reusable = false});
  cases.push_back({.name = "close-delimited exactly max_body",
                   .wire = "HTTP/1.1 200 OK\r\n\r\nabcde",
                   .max_body = 5,
                   .until_close = true,
                   .status = 200,
                   .reason = "OK",
                   .body = "abcde",
                   .reusable = false});
  return cases;
}

struct ErrorCase
{
  std::string wire;
  std::string error;
};

std::vector<ErrorCase>
error_cases()
{
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  const std::string chunked = ok + "Transfer-Encoding: chunked\r\n\r\n";
  std::vector<ErrorCase> cases;
  for (const char* line :
       {"HTTP/2 200 OK", "HTTP/2.0 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 200OK",
        "HTTP/1.1  200 OK", "HTTP/1.1 2a0 OK", "HTTP/1.1 -20 OK", "HTTP/1.1 099 Low",
        "HTTP/1.x 200 OK", "http/1.1 200 OK", "ICY 200 OK", "HTTP/1.1", "HTTP/1.1 200\tOK", "",
        "<html><body>hello</body></html>", " HTTP/1.1 200 OK"}) {
    cases.push_back({line + "\r\nContent-Length: 0\r\n\r\n"s, "invalid status line"});
  }
  cases.push_back({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 OK\r\n\r\n", "invalid status line"});
  cases.push_back(
      {"HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "invalid status line"});
  for (const char* value : {"abc", "-1", "+5", "5, 6", "", " ", ",", "1.0", "0x10", "5 5",
                            "99999999999999999999999", "18446744073709551616"}) {
    cases.push_back({ok + "Content-Length: " + value + "\r\n\r\n12345", "invalid Content-Length"});
  }
  cases.push_back(
      {ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n12345", "invalid Content-Length"});
  cases.push_back(
      {ok + "Content-Length: 5\r\nContent-Length: 5, 6\r\n\r\n12345", "invalid Content-Length"});
  for (const char* line : {"zz", "", " 5", "-1", "5x", ";ext", "5 x", "0x5", "fffffffffffffffff",
                           "10000000000000000"}) {
    cases.push_back({chunked + line + "\r\nabcde\r\n0\r\n\r\n", "invalid chunk size"});
  }
  cases.push_back({chunked + "3\r\nabcX\r\n0\r\n\r\n", "missing CRLF after chunk data"});
  cases.push_back({chunked + "3\r\nabc\rX\n0\r\n\r\n", "missing CRLF after chunk data"});
  cases.push_back({chunked + "3\r\nabc\r\r\n0\r\n\r\n", "missing CRLF after chunk data"});
  return cases;
}

// Feed `wire` in pieces ending at each of `cuts`, then the rest; returns the final state.
State
feed_pieces(HttpResponseParser& parser, std::string_view wire, const std::vector<std::size_t>& cuts)
{
  std::size_t from = 0;
  State state = State::need_more;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : wire.size();
    state = parser.feed(wire.substr(from, to - from));
    from = to;
  }
  return state;
}

std::string
repeat(char c, std::size_t n)
{
  return std::string(n, c);
}

} // namespace

TEST_CASE("http response parser: table of responses, fed whole, bytewise, split anywhere")
{
  for (const Case& c : success_cases()) {
    check_all_splits(c);
  }
}

TEST_CASE("http response parser: errors, fed whole, bytewise, split anywhere")
{
  for (const ErrorCase& c : error_cases()) {
    CAPTURE(c.wire);
    std::vector<std::vector<std::size_t>> plans = {{}};
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 1; i < c.wire.size(); ++i) {
      bytewise.push_back(i);
    }
    plans.push_back(bytewise);
    for (std::size_t split = 0; split <= c.wire.size(); ++split) {
      plans.push_back({split});
    }
    for (const auto& plan : plans) {
      HttpResponseParser parser(false, k_big);
      REQUIRE(feed_pieces(parser, c.wire, plan) == State::error);
      CHECK(parser.error() == c.error);
      // An error is final: more bytes or the close change nothing.
      CHECK(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == State::error);
      CHECK(parser.finish() == State::error);
      CHECK(parser.state() == State::error);
      CHECK(parser.error() == c.error);
      CHECK_FALSE(parser.reusable());
    }
  }
}

TEST_CASE("http response parser: head size limit")
{
  const std::string status = "HTTP/1.1 200 OK\r\n";
  const std::string tail = "\r\nContent-Length: 0\r\n\r\n";
  // A head of exactly max_head bytes passes; one more byte fails.
  const std::size_t pad = 1024 - status.size() - tail.size() - std::string("X-Pad: ").size();
  const std::string exact = status + "X-Pad: " + repeat('p', pad) + tail;
  REQUIRE(exact.size() == 1024);
  const std::string over = status + "X-Pad: " + repeat('p', pad + 1) + tail;
  for (std::size_t split = 0; split <= over.size(); ++split) {
    CAPTURE(split);
    HttpResponseParser fits(false, k_big, 1024);
    CHECK(feed_pieces(fits, exact, {std::min(split, exact.size())}) == State::complete);
    HttpResponseParser too_big(false, k_big, 1024);
    CHECK(feed_pieces(too_big, over, {split}) == State::error);
    CHECK(too_big.error() == "response head over 1 KiB");
  }

  SUBCASE("an endless line fails as soon as it passes the limit")
  {
    HttpResponseParser parser(false, k_big, 1024);
    CHECK(parser.feed(status + "X-Big: ") == State::need_more);
    std::size_t fed = parser.bytes_fed();
    while (parser.feed(repeat('a', 100)) == State::need_more) {
      fed += 100;
      REQUIRE(fed <= 1024);
    }
    CHECK(parser.state() == State::error);
    CHECK(parser.bytes_fed() > 1024);
    CHECK(parser.bytes_fed() <= 1124);
    CHECK(parser.error() == "response head over 1 KiB");
  }

  SUBCASE("the default is 256 KiB, per head")
  {
    const std::string big = "X-Big: " + repeat('b', 200 * 1024) + "\r\n";
    HttpResponseParser parser(false, k_big);
    // Two interim heads and a final one, each under the limit, together over it.
    CHECK(parser.feed("HTTP/1.1 100 Continue\r\n" + big + "\r\n") == State::need_more);
    CHECK(parser.feed("HTTP/1.1 103 Early Hints\r\n" + big + "\r\n") == State::need_more);
    CHECK(parser.feed(status + big + "Content-Length: 1\r\n\r\nx") == State::complete);
    CHECK(parser.headers().size() == 2);
    CHECK(parser.reusable());

    HttpResponseParser too_big(false, k_big);
    CHECK(too_big.feed(status + big + big + "\r\n") == State::error);
    CHECK(too_big.error() == "response head over 256 KiB");
  }

  SUBCASE("a limit that is not whole KiB is said in bytes")
  {
    HttpResponseParser parser(false, k_big, 100);
    CHECK(parser.feed(status + repeat('x', 100)) == State::error);
    CHECK(parser.error() == "response head over 100 bytes");
  }

  SUBCASE("chunk size lines and trailers are bounded too")
  {
    const std::string head = status + "Transfer-Encoding: chunked\r\n\r\n";
    HttpResponseParser size_line(false, k_big, 1024);
    CHECK(size_line.feed(head + "5;" + repeat('e', 2000)) == State::error);
    CHECK(size_line.error() == "chunk size line too long");
    HttpResponseParser trailers(false, k_big, 1024);
    CHECK(trailers.feed(head + "0\r\n") == State::need_more);
    CHECK(trailers.feed("T: " + repeat('t', 600) + "\r\n") == State::need_more);
    CHECK(trailers.feed("T: " + repeat('t', 600) + "\r\n\r\n") == State::error);
    CHECK(trailers.error() == "response trailers too long");
  }
}

TEST_CASE("http response parser: finish() before the end")
{
  HttpResponseParser nothing(false, k_big);
  CHECK(nothing.finish() == State::error);
  CHECK(nothing.error() == "connection closed without a response");
  CHECK_FALSE(nothing.started());

  HttpResponseParser empty_feed(false, k_big);
  CHECK(empty_feed.feed("") == State::need_more);
  CHECK_FALSE(empty_feed.started());
  CHECK(empty_feed.finish() == State::error);
  CHECK(empty_feed.error() == "connection closed without a response");

  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& wire :
       {"H"s, "HTTP/1.1 2"s, "HTTP/1.1 200 OK\r\n"s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"s,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"s,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcd"s, "HTTP/1.1 100 Continue\r\n\r\n"s,
        chunked, chunked + "5\r\nab", chunked + "5\r\nabcde", chunked + "5\r\nabcde\r\n",
        chunked + "5\r\nabcde\r\n0\r\n", chunked + "5\r\nabcde\r\n0\r\nT: 1\r\n"}) {
    CAPTURE(wire);
    HttpResponseParser parser(false, k_big);
    REQUIRE(parser.feed(wire) == State::need_more);
    CHECK(parser.started());
    CHECK(parser.finish() == State::error);
    CHECK(parser.error() == "connection closed mid-response");
    CHECK_FALSE(parser.reusable());
  }

  // finish() after a complete response changes nothing.
  HttpResponseParser done(false, k_big);
  CHECK(done.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx") == State::complete);
  CHECK(done.finish() == State::complete);
  CHECK(done.reusable());
  CHECK(done.error().empty());
}

TEST_CASE("http response parser: bytes past the end make the connection not reusable")
{
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

  HttpResponseParser same_feed(false, k_big);
  CHECK(same_feed.feed(response + next) == State::complete);
  CHECK(same_feed.body() == "ok");
  CHECK(same_feed.bytes_fed() == response.size() + next.size());
  CHECK_FALSE(same_feed.reusable());

  HttpResponseParser later_feed(false, k_big);
  CHECK(later_feed.feed(response) == State::complete);
  CHECK(later_feed.feed("") == State::complete);
  CHECK(later_feed.reusable());
  CHECK(later_feed.feed("x") == State::complete);
  CHECK(later_feed.body() == "ok");
  CHECK_FALSE(later_feed.reusable());

  for (const std::string& bodiless : {"HTTP/1.1 204 No Content\r\n\r\n"s,
                                      "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n"s}) {
    HttpResponseParser parser(false, k_big);
    CHECK(parser.feed(bodiless + "abc") == State::complete);
    CHECK(parser.body().empty());
    CHECK_FALSE(parser.reusable());
  }

  HttpResponseParser head(true, k_big);
  CHECK(head.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc") == State::complete);
  CHECK(head.body().empty());
  CHECK_FALSE(head.reusable());

  HttpResponseParser chunked(false, k_big);
  CHECK(chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "1\r\nx\r\n0\r\n\r\n\r\n") == State::complete);
  CHECK(chunked.body() == "x");
  CHECK_FALSE(chunked.reusable());

  // The rest of a truncated body is never read: feeding it is harmless.
  HttpResponseParser truncated(false, 2);
  CHECK(truncated.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde") == State::complete);
  CHECK(truncated.body() == "ab");
  CHECK(truncated.body_truncated());
  CHECK(truncated.feed("more") == State::complete);
  CHECK(truncated.body() == "ab");
  CHECK_FALSE(truncated.reusable());
}

TEST_CASE("http response parser: progress accessors and taking the result")
{
  HttpResponseParser parser(false, k_big);
  CHECK(parser.state() == State::need_more);
  CHECK(parser.status() == 0);
  CHECK_FALSE(parser.head_complete());
  CHECK(parser.feed("HTTP/1.1 100 Continue\r\nX-I: 1\r\n\r\n") == State::need_more);
  // An interim response is not the answer.
  CHECK(parser.status() == 0);
  CHECK_FALSE(parser.head_complete());
  CHECK(parser.headers().empty());
  CHECK(parser.feed("HTTP/1.1 202 Accepted\r\nX-A: 1\r\nContent-Length: 6\r\n\r\nab") ==
        State::need_more);
  CHECK(parser.head_complete());
  CHECK(parser.status() == 202);
  CHECK(parser.reason() == "Accepted");
  CHECK(parser.body() == "ab");
  CHECK_FALSE(parser.reusable());
  CHECK(parser.feed("cdef") == State::complete);
  CHECK(parser.state() == State::complete);
  CHECK(parser.reusable());

  const Headers headers = parser.take_headers();
  CHECK(headers == Headers{{"X-A", "1"}, {"Content-Length", "6"}});
  CHECK(parser.headers().empty());
  const std::string body = parser.take_body();
  CHECK(body == "abcdef");
  CHECK(parser.body().empty());
  CHECK(parser.status() == 202);
}

TEST_CASE("http response parser: large bodies arrive intact in odd pieces")
{
  std::string body(300000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>((i * 7919) % 256);
  }
  const std::string length_wire =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string chunked_wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t n = std::min<std::size_t>(body.size() - at, 1 + at % 9000);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    chunked_wire += size + body.substr(at, n) + "\r\n";
    at += n;
  }
  chunked_wire += "0\r\n\r\n";
  for (const std::string* wire : std::vector<const std::string*>{&length_wire, &chunked_wire}) {
    HttpResponseParser parser(false, k_big);
    std::vector<std::size_t> cuts;
    for (std::size_t at = 1; at < wire->size(); at += 1 + at % 4093) {
      cuts.push_back(at);
    }
    CHECK(feed_pieces(parser, *wire, cuts) == State::complete);
    CHECK(parser.body() == body);
    CHECK(parser.reusable());
  }
}
