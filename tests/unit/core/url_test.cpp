#include "core/url.hpp"

#include "support/targets.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rag::core;
using rag::test::target_of;

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
TEST_CASE("url: query strings are split and percent-decoded")
{
  const auto params = parse_query("/p?a=1&b=two+words&c=%2Fx%20y&&flag&e=&bad=%zz#frag=1");
  REQUIRE(params.size() == 6);
  CHECK(params[0] == Param{"a", "1"});
  CHECK(params[1] == Param{"b", "two words"});
  CHECK(params[2] == Param{"c", "/x y"});
  CHECK(params[3] == Param{"flag", ""});
  CHECK(params[4] == Param{"e", ""});
  CHECK(params[5] == Param{"bad", "%zz"});
  CHECK(parse_query("/no-query").empty());
  CHECK(parse_query("/p#?x=1").empty());
  CHECK(percent_decode("a+b%41%4", false) == "a+bA%4");
  CHECK(percent_decode("a+b", true) == "a b");
}

TEST_CASE("url: form bodies are encoded the way browsers encode them")
{
  CHECK(form_urlencode({{"a b", "c&d=\xC3\xA9"}, {"x", ""}, {"k-._*~", "1"}}) ==
        "a+b=c%26d%3D%C3%A9&x=&k-._*%7E=1");
  CHECK(form_urlencode({}).empty());
  // Decoding what was encoded gives the pairs back.
  const std::vector<Param> pairs = {{"name", "Ada Lovelace"}, {"note", "1+1=2 & 100%"}};
  CHECK(parse_query("?" + form_urlencode(pairs)) == pairs);
}

TEST_CASE("url: the request target of a URL is its raw path and query")
{
  CHECK(*url_request_target("https://h.example/p/a%2Fb?x=1&y=%20#frag") == "/p/a%2Fb?x=1&y=%20");
  CHECK(*url_request_target("http://user:pw@h.example:8080") == "/");
  CHECK(*url_request_target("http://h.example?x=1") == "/?x=1");
  CHECK(*url_request_target("/already/a/target?q#f") == "/already/a/target?q");
  CHECK_FALSE(url_request_target("h.example/path").ok());
  CHECK_FALSE(url_request_target("").ok());
}

TEST_CASE("url: split_path_query splits at the first '?' and nothing else")
{
  TargetParts parts = split_path_query("/a/b?x=1?y#f");
  CHECK(parts.path == "/a/b");
  CHECK(parts.query == "x=1?y#f");
  CHECK(parts.has_query);
  parts = split_path_query("/a?");
  CHECK(parts.path == "/a");
  CHECK(parts.query.empty());
  CHECK(parts.has_query);
  parts = split_path_query("/a#?b");
  CHECK(parts.path == "/a#");
  CHECK(parts.query == "b");
  parts = split_path_query("*");
  CHECK(parts.path == "*");
  CHECK_FALSE(parts.has_query);
  CHECK(strip_fragment("/a?b#c#d") == "/a?b");
  CHECK(strip_fragment("/a") == "/a");
}

TEST_CASE("url: split_target drops the fragment and the origin of an absolute form")
{
  struct Row
  {
    const char* raw;
    const char* path;
    const char* query;
    bool has_query;
  };
  const std::vector<Row> rows = {
      {"/a/b?x=1", "/a/b", "x=1", true},
      {"/a#frag?no", "/a", "", false},
      {"/a?x#frag", "/a", "x", true},
      {"http://h:1/p?q=1", "/p", "q=1", true},
      {"https://h?q", "", "q", true},
      {"http://h", "", "", false},
      {"/x://y", "/x://y", "", false}, // origin-form, whatever follows
      {"*", "*", "", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.raw);
    const TargetParts parts = split_target(row.raw);
    CHECK(parts.path == row.path);
    CHECK(parts.query == row.query);
    CHECK(parts.has_query == row.has_query);
  }
}

TEST_CASE("url: authority without user info, and bytes a request line cannot carry")
{
  CHECK(url_authority("http://user:pw@h.example:8080/p?q") == "h.example:8080");
  CHECK(url_authority("https://h?x") == "h");
  CHECK(url_authority("h.example/path").empty());
  CHECK(is_target_safe("/a/b?c=%20\x80"));
  CHECK_FALSE(is_target_safe("/a b"));
  CHECK_FALSE(is_target_safe("/a\tb"));
  CHECK_FALSE(is_target_safe("/a\x7f"));
}
