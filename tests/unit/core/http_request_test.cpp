#include "core/http_request.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using rag::core::HttpLimits;
using rag::core::HttpRequest;
using rag::core::HttpRequestParser;
using State = HttpRequestParser::State;

using namespace std::string_literals;

namespace {

struct Outcome
{
  State state = State::need_more;
  int status = 0;
  std::string reason;
  int head_reports = 0;         // how often head_complete was returned
  std::size_t body_at_head = 0; // body bytes consumed when head_complete came
  HttpRequest request;
};

// Feed `wire` in pieces of `step` bytes (0: all at once), advancing past head_complete.
Outcome
parse(std::string_view wire, std::size_t step, HttpLimits limits = {})
{
  HttpRequestParser parser(limits);
  Outcome outcome;
  std::size_t offset = 0;
  State state = State::need_more;
  auto settle = [&] {
    while (state == State::head_complete) {
      ++outcome.head_reports;
      outcome.body_at_head = parser.request().body.size();
      state = parser.advance();
    }
  };
  while (offset < wire.size() && (state == State::need_more || state == State::head_complete)) {
    const std::size_t n = step == 0 ? wire.size() : std::min(step, wire.size() - offset);
    state = parser.feed(wire.substr(offset, n));
    offset += n;
    settle();
  }
  outcome.state = state;
  outcome.status = parser.status();
  outcome.reason = parser.reason();
  if (state == State::complete) {
    outcome.request = parser.take_request();
  }
  return outcome;
}

// Parse both byte by byte and all at once; both must agree.
Outcome
parse_both(std::string_view wire, HttpLimits limits = {})
{
  Outcome whole = parse(wire, 0, limits);
  Outcome bytewise = parse(wire, 1, limits);
  CHECK(whole.state == bytewise.state);
  CHECK(whole.status == bytewise.status);
  CHECK(whole.head_reports == bytewise.head_reports);
  CHECK(whole.request.method == bytewise.request.method);
  CHECK(whole.request.target == bytewise.request.target);
  CHECK(whole.request.headers == bytewise.request.headers);
  CHECK(whole.request.body == bytewise.request.body);
  CHECK(whole.request.trailers == bytewise.request.trailers);
  return whole;
}

} // namespace

TEST_CASE("http parser: headers keep order, case, duplicates, empty values, raw bytes")
{
  const std::string wire = "POST /p/a%2Fb?x=1&y=a+b&z=%20&x=2#frag HTTP/1.1\r\n"
                           "Zeta: 1\r\n"
                           "Host: example.test\r\n"
                           "alpha: 2\r\n"
                           "X-Dup: a\r\n"
                           "x-dup: b\r\n"
                           "X-DUP: c\r\n"
                           "X-Empty:\r\n"
                           "X-Blank:   \t \r\n"
                           "X-Spaces:   v  v \t\r\n"
                           "X-Pct: a%20b%0D%0AX-Inj: 1\r\n"
                           "X-Obs: caf\xc3\xa9 \xff\r\n"
                           "Content-Length: 5\r\n"
                           "\r\n"
                           "a\0b\xff\n"s;
  const std::string body("a\0b\xff\n", 5);
  const Outcome outcome = parse_both(std::string_view(wire.data(), wire.size()));
  REQUIRE(outcome.state == State::complete);
  const HttpRequest& request = outcome.request;
  CHECK(request.method == "POST");
  CHECK(request.target == "/p/a%2Fb?x=1&y=a+b&z=%20&x=2#frag");
  CHECK(request.http_version == "HTTP/1.1");
  const rag::core::Headers expected = {
      {"Zeta", "1"},
      {"Host", "example.test"},
      {"alpha", "2"},
      {"X-Dup", "a"},
      {"x-dup", "b"},
      {"X-DUP", "c"},
      {"X-Empty", ""},
      {"X-Blank", ""},
      {"X-Spaces", "v  v"},
      {"X-Pct", "a%20b%0D%0AX-Inj: 1"},
      {"X-Obs", "caf\xc3\xa9 \xff"},
      {"Content-Length", "5"},
  };
  CHECK(request.headers == expected);
  CHECK(request.body == body);
  CHECK_FALSE(request.chunked);
  CHECK(request.keep_alive);
  CHECK(outcome.head_reports == 1);
  CHECK(outcome.body_at_head == 0);
}

TEST_CASE("http parser: raw target with odd encoding and any token method")
{
  const std::string target = "/h%zz/%E2%82%AC/\xe2\x82\xac/\xff?q=%%&a=b+c;d,e&&=#x#y";
  for (const std::string method : {"PURGE", "get", "M-SEARCH", "X~!#$%&'*+.^_`|"}) {
    const Outcome outcome = parse_both(method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(outcome.state == State::complete);
    CHECK(outcome.request.method == method);
    CHECK(outcome.request.target == target);
    CHECK(outcome.head_reports == 0);
  }
  CHECK(parse_both("G(T / HTTP/1.1\r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET  / HTTP/1.1\r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET /\r\nHost: h\r\n\r\n").status == 400);
}

TEST_CASE("http parser: bare LF endings and leading empty lines are tolerated")
{
  const Outcome outcome = parse_both("\r\n\n\r\nGET /x HTTP/1.1\nHost: h\nX-A: 1\r\n\nGET");
  REQUIRE(outcome.state == State::complete);
  CHECK(outcome.request.target == "/x");
  CHECK(outcome.request.headers == rag::core::Headers{{"Host", "h"}, {"X-A", "1"}});
}

TEST_CASE("http parser: versions other than 1.0 and 1.1 get 505, garbage 400")
{
  CHECK(parse_both("GET / HTTP/2.0\r\nHost: h\r\n\r\n").status == 505);
  CHECK(parse_both("GET / HTTP/1.2\r\nHost: h\r\n\r\n").status == 505);
  CHECK(parse_both("GET / HTTP/0.9\r\nHost: h\r\n\r\n").status == 505);
  CHECK(parse_both("GET / http/1.1\r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1 \r\nHost: h\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.0\r\n\r\n").state == State::complete);
}

TEST_CASE("http parser: malformed header lines are 400")
{
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n folded\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\tfolded\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nName : 1\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nA: x\ry\r\n\r\n").status == 400);
  CHECK(parse_both("GET / HTTP/1.1\r\nHost: h\r\nA: x\0y\r\n\r\n"s).status == 400);
  const Outcome tab = parse_both("GET / HTTP/1.1\r\nA: x\ty\r\nHost: h\r\n\r\n");
  REQUIRE(tab.state == State::complete);
  CHECK(tab.request.headers[0].second == "x\ty");
}

TEST_CASE("http parser: chunked bodies with extensions and trailers")
{
  const std::string wire = "POST /hook HTTP/1.1\r\n"
                           "Host: h\r\n"
                           "Transfer-Encoding: Chunked\r\n"
                           "\r\n"
                           "5;name=value;flag\r\nhello\r\n"
                           "0000B ; ext=\"q\"\r\n, chunked!!\r\n"
                           "1\nX\n"
                           "0\r\n"
                           "Trailer-A: 1\r\n"
                           "Trailer-B: 2\r\n"
                           "\r\n";
  const Outcome outcome = parse_both(wire);
  REQUIRE(outcome.state == State::complete);
  CHECK(outcome.request.chunked);
  CHECK(outcome.request.body == "hello, chunked!!X");
  CHECK(outcome.head_reports == 1);
  CHECK(outcome.body_at_head == 0);
  // Trailers are kept apart, the head stays as sent.
  CHECK(outcome.request.headers ==
        rag::core::Headers{{"Host", "h"}, {"Transfer-Encoding", "Chunked"}});
  CHECK(outcome.request.trailers == rag::core::Headers{{"Trailer-A", "1"}, {"Trailer-B", "2"}});
}

TEST_CASE("http parser: trailers keep order, case, duplicates and empty values")
{
  const std::string wire = "POST /hook HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "2\r\nok\r\n0\r\n"
                           "x-Checksum:  sha256=abc \r\n"
                           "X-EMPTY:\r\n"
                           "x-checksum: again\n"
                           "Bin-Val: \xff\xfe\r\n"
                           "\r\n";
  const Outcome outcome = parse_both(wire);
  REQUIRE(outcome.state == State::complete);
  CHECK(outcome.request.body == "ok");
  CHECK(outcome.request.trailers.size() == 4);
  CHECK(outcome.request.trailers[0] == rag::core::Header{"x-Checksum", "sha256=abc"});
  CHECK(outcome.request.trailers[1] == rag::core::Header{"X-EMPTY", ""});
  CHECK(outcome.request.trailers[2] == rag::core::Header{"x-checksum", "again"});
  // Bytes above 0x7f are kept as they are (obs-text), as in header values; a name that is
  // not a token is refused below.
  CHECK(outcome.request.trailers[3].second == "\xff\xfe");
}

TEST_CASE("http parser: trailer lines a header line could not be are 400")
{
  const std::string head =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
  for (const std::string& trailer : {"no colon\r\n"s, " T: folded\r\n"s, "T k: v\r\n"s,
                                     "T: a\x01b\r\n"s, "T: a\rb\r\n"s, ": v\r\n"s}) {
    CAPTURE(trailer);
    const Outcome outcome = parse_both(head + trailer + "\r\n");
    CHECK(outcome.state == State::error);
    CHECK(outcome.status == 400);
    CHECK(outcome.reason.find("trailer") != std::string::npos);
  }
}

TEST_CASE("http parser: many small trailer lines are bounded by the head limit too")
{
  HttpLimits limits;
  limits.max_header_bytes = 256;
  std::string trailers;
  for (int i = 0; i < 100; ++i) {
    trailers += "T: 1\r\n"; // 600 bytes in all, no line near the limit
  }
  const std::string head =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
  const Outcome outcome = parse_both(head + trailers + "\r\n", limits);
  CHECK(outcome.state == State::error);
  CHECK(outcome.status == 431);
  // Just under the limit is fine, and every line is kept.
  const Outcome fits = parse_both(head + trailers.substr(0, 240) + "\r\n", limits);
  REQUIRE(fits.state == State::complete);
  CHECK(fits.request.trailers.size() == 40);
}

TEST_CASE("http parser: after an error the head read so far stays, the body is counted")
{
  HttpLimits limits;
  limits.max_body_bytes = 10;
  HttpRequestParser parser(limits);
  const std::string wire = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "6\r\nabcdef\r\n5\r\nghijk\r\n";
  State state = parser.feed(wire);
  while (state == State::head_complete) {
    state = parser.advance();
  }
  REQUIRE(state == State::error);
  CHECK(parser.status() == 413);
  CHECK(parser.request().target == "/c");
  CHECK(parser.request().headers.size() == 2);
  CHECK(parser.request().body.empty()); // dropped
  CHECK(parser.body_bytes() == 6);
  parser.reset_for_next();
  CHECK(parser.body_bytes() == 0);
}

TEST_CASE("http parser: bad chunked framing")
{
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(parse_both(head + "-2\r\nab\r\n0\r\n\r\n").status == 400);
  CHECK(parse_both(head + "1ffffffffffffffff\r\nab\r\n0\r\n\r\n").status == 400);
  CHECK(parse_both(head + "zz\r\n").status == 400);
  CHECK(parse_both(head + "2 x\r\nab\r\n").status == 400);
  CHECK(parse_both(head + "2\r\nabc\r\n").status == 400);
  // A huge but representable size is over the body limit.
  CHECK(parse_both(head + "ffffffffffffffff\r\n").status == 413);
}

TEST_CASE("http parser: chunked body over the limit is 413")
{
  HttpLimits limits;
  limits.max_body_bytes = 10;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const Outcome at_limit = parse_both(head + "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", limits);
  REQUIRE(at_limit.state == State::complete);
  CHECK(at_limit.request.body == "abcdefghij");
  const Outcome over = parse_both(head + "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n", limits);
  CHECK(over.state == State::error);
  CHECK(over.status == 413);
}

TEST_CASE("http parser: trailers are bounded by the head limit")
{
  HttpLimits limits;
  limits.max_header_bytes = 256;
  const std::string wire =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " +
      std::string(300, 'x') + "\r\n\r\n";
  const Outcome outcome = parse_both(wire, limits);
  CHECK(outcome.state == State::error);
  CHECK(outcome.status == 431);
}

TEST_CASE("http parser: Content-Length over the limit is 413 right after the head")
{
  HttpLimits limits;
  limits.max_body_bytes = 100;
  HttpRequestParser parser(limits);
  CHECK(parser.feed("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n") ==
        State::error);
  CHECK(parser.status() == 413);
  CHECK(parser.content_length() == 101);
  CHECK(parser.request().target == "/big");

  HttpRequestParser ok(limits);
  CHECK(ok.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n") ==
        State::head_complete);
  CHECK(ok.content_length() == 100);
  CHECK(ok.advance() == State::need_more);

  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n")
            .status == 413);
}

TEST_CASE("http parser: Content-Length must be digits and agree")
{
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n").status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx").status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x1\r\n\r\nx").status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n").status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy")
            .status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nxy").status == 400);
  const Outcome same = parse_both(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nxy");
  REQUIRE(same.state == State::complete);
  CHECK(same.request.body == "xy");
}

TEST_CASE("http parser: a bare CR in the head is 400 at once, not a wait for a line end")
{
  HttpRequestParser parser{HttpLimits{}};
  CHECK(parser.feed("GET / HTTP/1.1\r\nHost: h\r\r\r") == State::error);
  CHECK(parser.status() == 400);
  CHECK(parser.reason() == "bare CR in the request head");
  HttpRequestParser line{HttpLimits{}};
  CHECK(line.feed("GET / HTTP/1.1\rHost") == State::error);
  // A CR that is the last byte so far may still be followed by its LF.
  HttpRequestParser split{HttpLimits{}};
  CHECK(split.feed("GET / HTTP/1.1\r") == State::need_more);
  CHECK(split.feed("\nHost: h\r") == State::need_more);
  CHECK(split.feed("\n\r\n") == State::complete);
}

TEST_CASE("http parser: Transfer-Encoding framing rules")
{
  CHECK(parse_both(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n")
            .status == 400);
  CHECK(parse_both(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
            .status == 400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n").status == 501);
  CHECK(
      parse_both("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").status ==
      400);
  CHECK(parse_both("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n")
            .status == 400);
}

TEST_CASE("http parser: chunked is the only transfer coding understood, others are 501")
{
  auto refused = [](const std::string& te_lines) {
    const Outcome outcome =
        parse_both("POST / HTTP/1.1\r\nHost: h\r\n" + te_lines + "\r\n5\r\nhello\r\n0\r\n\r\n");
    CHECK(outcome.state == State::error);
    return std::pair<int, std::string>(outcome.status, outcome.reason);
  };
  const std::pair<int, std::string> not_implemented(501, "unsupported transfer-encoding");
  CHECK(refused("Transfer-Encoding: gzip, chunked\r\n") == not_implemented);
  CHECK(refused("Transfer-Encoding: gzip, Chunked\r\n") == not_implemented);
  CHECK(refused("Transfer-Encoding: deflate;q=1, chunked\r\n") == not_implemented);
  CHECK(refused("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") == not_implemented);
  // RFC 9112 dropped `identity`: it is a coding rag does not know like any other.
  CHECK(refused("Transfer-Encoding: identity, chunked\r\n") == not_implemented);
  CHECK(refused("Transfer-Encoding: identity\r\n") == not_implemented);
  CHECK(refused("Transfer-Encoding: gzip\r\n") == not_implemented);
  // Framing that is faulty whatever the codings stays 400.
  const std::pair<int, std::string> not_final(400, "chunked must be the final transfer-encoding");
  CHECK(refused("Transfer-Encoding: chunked, chunked\r\n") == not_final);
  CHECK(refused("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") == not_final);
  CHECK(refused("Transfer-Encoding: chunked, gzip\r\n") == not_final);
  CHECK(refused("Transfer-Encoding: gzip, chunked, chunked\r\n") == not_final);

  for (const std::string coding : {"chunked", "Chunked", "CHUNKED", " chunked ", ", chunked,"}) {
    const Outcome outcome = parse_both("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:" + coding +
                                       "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    REQUIRE(outcome.state == State::complete);
    CHECK(outcome.request.chunked);
    CHECK(outcome.request.body == "hello");
  }
}

TEST_CASE("http parser: Transfer-Encoding in an HTTP/1.0 request is 400")
{
  for (const std::string headers :
       {"Transfer-Encoding: chunked\r\n", "Host: h\r\nTransfer-Encoding: chunked\r\n",
        "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: gzip\r\n"}) {
    const Outcome outcome =
        parse_both("POST / HTTP/1.0\r\n" + headers + "\r\n5\r\nhello\r\n0\r\n\r\n");
    CHECK(outcome.state == State::error);
    CHECK(outcome.status == 400);
    CHECK(outcome.reason == "transfer-encoding in an http/1.0 request");
  }
  const Outcome length = parse_both("POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
  REQUIRE(length.state == State::complete);
  CHECK(length.request.body == "hello");
}

TEST_CASE("http parser: HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one")
{
  auto outcome_of = [](const std::string& version, const std::string& headers) {
    return parse_both("POST / " + version + "\r\n" + headers + "Content-Length: 2\r\n\r\nab");
  };
  auto refusal = [&](const std::string& version, const std::string& headers) {
    const Outcome outcome = outcome_of(version, headers);
    CHECK(outcome.state == State::error);
    CHECK(outcome.head_reports == 0); // refused on the head, before a body byte
    return std::pair<int, std::string>(outcome.status, outcome.reason);
  };
  auto accepted = [&](const std::string& version, const std::string& headers) {
    const Outcome outcome = outcome_of(version, headers);
    CHECK(outcome.request.body == "ab");
    return outcome.state == State::complete;
  };

  const std::pair<int, std::string> missing(400, "missing host header");
  CHECK(refusal("HTTP/1.1", "") == missing);
  CHECK(refusal("HTTP/1.1", "X-Host: h\r\nHost-Name: h\r\n") == missing);
  CHECK(accepted("HTTP/1.0", ""));

  const std::pair<int, std::string> twice(400, "more than one host header");
  for (const std::string version : {"HTTP/1.1", "HTTP/1.0"}) {
    CHECK(refusal(version, "Host: a\r\nHost: b\r\n") == twice);
    CHECK(refusal(version, "Host: a\r\nX: 1\r\nhost: a\r\n") == twice);
    CHECK(refusal(version, "HOST:\r\nHost:\r\n") == twice);
  }

  // Whitespace or / ? # @ inside cannot be uri-host[:port]; everything else is kept as sent.
  const std::pair<int, std::string> invalid(400, "invalid host header");
  for (const std::string version : {"HTTP/1.1", "HTTP/1.0"}) {
    for (const std::string value : {"a b", "a\tb", "h/x", "/", "h?x", "h#x", "user@h"}) {
      CHECK(refusal(version, "Host: " + value + "\r\n") == invalid);
    }
    for (const std::string value : {"", "h", "example.com:8080", "[::1]:7777", "127.0.0.1",
                                    "caf\xc3\xa9.test", "a_b-c~d", "h:", "HOST.Example."}) {
      CHECK(accepted(version, "Host: " + value + "\r\n"));
    }
  }
  const Outcome kept = outcome_of("HTTP/1.1", "hOsT: \t \r\n");
  REQUIRE(kept.state == State::complete);
  CHECK(kept.request.headers.at(0) == rag::core::Header{"hOsT", ""});
}

TEST_CASE("http parser: a head over the limit is 431 and never buffered unbounded")
{
  HttpLimits limits;
  limits.max_header_bytes = 8 * 1024;
  HttpRequestParser parser(limits);
  const std::size_t piece = 4096;
  const std::string filler(piece, 'a');
  CHECK(parser.feed("GET / HTTP/1.1\r\nX-Long: ") == State::need_more);
  std::size_t fed = 0;
  State state = State::need_more;
  while (fed < 1024 * 1024) {
    state = parser.feed(filler);
    fed += piece;
    CHECK(parser.buffered_bytes() <= limits.max_header_bytes + piece);
  }
  CHECK(state == State::error);
  CHECK(parser.status() == 431);
  CHECK(parser.buffered_bytes() == 0);

  // Many short header lines add up the same way.
  HttpRequestParser lines(limits);
  std::string wire = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) {
    wire += "X-Header-" + std::to_string(i) + ": value\r\n";
  }
  CHECK(lines.feed(wire) == State::error);
  CHECK(lines.status() == 431);
  CHECK(lines.buffered_bytes() == 0);

  // A request line alone past the limit, fed in one go.
  HttpRequestParser one(limits);
  CHECK(one.feed("GET /" + std::string(1024 * 1024, 'p')) == State::error);
  CHECK(one.status() == 431);

  // Endless empty lines before the request line count too.
  HttpRequestParser empties(limits);
  CHECK(empties.feed(std::string(limits.max_header_bytes + 2, '\n')) == State::error);
  CHECK(empties.status() == 431);

  // Exactly at the limit is fine.
  std::string exact = "GET / HTTP/1.1\r\nX: ";
  const std::string end = "\r\nHost: h\r\n\r\n";
  exact += std::string(limits.max_header_bytes - exact.size() - end.size(), 'v') + end;
  REQUIRE(exact.size() == limits.max_header_bytes);
  CHECK(parse_both(exact, limits).state == State::complete);
  CHECK(parse_both(exact.substr(0, 20) + "v" + exact.substr(20), limits).status == 431);
}

TEST_CASE("http parser: POST without framing is complete with an empty body")
{
  HttpRequestParser parser;
  CHECK(parser.feed("") == State::need_more);
  CHECK(parser.feed("POST /hook HTTP/1.1\r\nHost: h\r\n\r\n") == State::complete);
  CHECK(parser.request().body.empty());
  CHECK(parser.content_length() == -1);
  CHECK(parser.buffer_empty());

  HttpRequestParser zero;
  CHECK(zero.feed("POST /hook HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") ==
        State::complete);
  CHECK(zero.content_length() == 0);
}

TEST_CASE("http parser: pipelined requests in one feed")
{
  HttpRequestParser parser;
  const std::string wire =
      "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "GET /two HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /three HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy";
  CHECK(parser.feed(wire) == State::head_complete);
  CHECK(parser.advance() == State::complete);
  HttpRequest first = parser.take_request();
  CHECK(first.target == "/one");
  CHECK(first.body == "abc");
  CHECK_FALSE(parser.buffer_empty());

  parser.reset_for_next();
  CHECK(parser.advance() == State::complete);
  CHECK(parser.request().target == "/two");
  CHECK(parser.request().body.empty());

  parser.reset_for_next();
  CHECK(parser.advance() == State::head_complete);
  CHECK(parser.request().target == "/three");
  CHECK(parser.advance() == State::need_more);
  CHECK(parser.feed("\r\n0\r\n\r\n") == State::complete);
  CHECK(parser.request().body == "xy");
  CHECK(parser.buffer_empty());

  // Bytes fed while a request is complete wait for the next one.
  CHECK(parser.feed("GET /four HTTP/1.1\r\nHost: h\r\n\r\n") == State::complete);
  CHECK(parser.request().target == "/three");
  parser.reset_for_next();
  CHECK(parser.advance() == State::complete);
  CHECK(parser.request().target == "/four");
}

TEST_CASE("http parser: keep-alive from version and Connection")
{
  auto keep = [](const std::string& version, const std::string& headers) {
    const Outcome outcome = parse_both("GET / " + version + "\r\nHost: h\r\n" + headers + "\r\n");
    REQUIRE(outcome.state == State::complete);
    return outcome.request.keep_alive;
  };
  CHECK(keep("HTTP/1.1", ""));
  CHECK_FALSE(keep("HTTP/1.1", "Connection: close\r\n"));
  CHECK_FALSE(keep("HTTP/1.1", "Connection: Upgrade, CLOSE\r\n"));
  CHECK(keep("HTTP/1.1", "Connection: keep-alive\r\n"));
  CHECK_FALSE(keep("HTTP/1.0", ""));
  CHECK(keep("HTTP/1.0", "Connection: Keep-Alive\r\n"));
  CHECK(keep("HTTP/1.0", "Connection: foo\r\nConnection: keep-alive\r\n"));
  CHECK_FALSE(keep("HTTP/1.0", "Connection: keep-alive, close\r\n"));
}

TEST_CASE("http parser: expect_continue and head_complete before the body")
{
  HttpRequestParser parser;
  CHECK(parser.feed(
            "PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n") ==
        State::head_complete);
  CHECK(parser.request().expect_continue);
  CHECK(parser.request().body.empty());
  CHECK(parser.buffer_empty());
  CHECK(parser.advance() == State::need_more);
  CHECK(parser.feed("ab") == State::need_more);
  CHECK(parser.feed("cd") == State::complete);
  CHECK(parser.request().body == "abcd");

  const Outcome http10 = parse_both("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
  REQUIRE(http10.state == State::complete);
  CHECK_FALSE(http10.request.expect_continue);
  const Outcome other = parse_both("PUT / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n");
  CHECK_FALSE(other.request.expect_continue);
}

TEST_CASE("http parser: a large body is stored exactly once and in full")
{
  std::string body(3 * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>(i * 131 % 251);
  }
  const std::string wire =
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  for (std::size_t step : {std::size_t{0}, std::size_t{65536}, std::size_t{1000}}) {
    const Outcome outcome = parse(wire, step);
    REQUIRE(outcome.state == State::complete);
    CHECK(outcome.request.body == body);
  }
}

TEST_CASE("http parser: every split point gives the same request")
{
  const std::string wire =
      "\r\nPOST /s?q=1 HTTP/1.1\r\nA: 1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n";
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    HttpRequestParser parser;
    State state = parser.feed(std::string_view(wire).substr(0, cut));
    if (state == State::head_complete) {
      state = parser.advance();
    }
    if (state != State::complete) {
      state = parser.feed(std::string_view(wire).substr(cut));
      if (state == State::head_complete) {
        state = parser.advance();
      }
    }
    REQUIRE(state == State::complete);
    CHECK(parser.request().body == "abcde");
    CHECK(parser.request().headers.size() == 3);
    CHECK(parser.request().trailers == rag::core::Headers{{"T", "1"}});
  }
}
