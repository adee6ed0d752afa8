#include "core/headers.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using rag::core::Headers;

TEST_CASE("headers: find, has and values match names ignoring case, in order")
{
  const Headers headers = {
      {"Accept", "text/html"}, {"X-Dup", ""}, {"x-dup", "b"}, {"X-DUP", "c"}, {"X-Empty", ""}};
  REQUIRE(rag::core::find_header(headers, "accept") != nullptr);
  CHECK(*rag::core::find_header(headers, "ACCEPT") == "text/html");
  CHECK(*rag::core::find_header(headers, "x-dup") == ""); // the first one counts
  CHECK(rag::core::find_header(headers, "Accep") == nullptr);
  CHECK(rag::core::has_header(headers, "x-empty"));
  CHECK_FALSE(rag::core::has_header(headers, "Host"));
  CHECK(rag::core::has_header_value(headers, "X-DUP", "b"));
  CHECK_FALSE(rag::core::has_header_value(headers, "X-DUP", "B"));
  CHECK_FALSE(rag::core::has_header_value(headers, "Accept", "text"));
  // An empty first value adds nothing; later ones are joined with ", ".
  CHECK(rag::core::header_values(headers, "X-Dup") == "b, c");
  CHECK(rag::core::header_values(headers, "accept") == "text/html");
  CHECK(rag::core::header_values(headers, "host").empty());
  CHECK(rag::core::header_values({{"A", "1"}, {"a", ""}}, "a") == "1, ");
  CHECK(std::count_if(headers.begin(), headers.end(), rag::core::header_named("x-dup")) == 3);
}

TEST_CASE("headers: set replaces the first in place, drops the rest, or appends")
{
  Headers headers = {{"content-type", "a"}, {"X-Sig", "old"}, {"Content-Type", "b"}};
  rag::core::set_header(headers, "Content-Type", "json");
  CHECK(headers == Headers{{"content-type", "json"}, {"X-Sig", "old"}});
  rag::core::set_header(headers, "X-New", "1");
  CHECK(headers == Headers{{"content-type", "json"}, {"X-Sig", "old"}, {"X-New", "1"}});
}

TEST_CASE("headers: the options of every Connection header, lower-cased")
{
  const Headers headers = {{"Connection", " Keep-Alive ,, X-Foo"},
                           {"X-Foo", "1"},
                           {"connection", "close\t"},
                           {"Connectionx", "no"}};
  CHECK(rag::core::connection_options(headers) ==
        std::vector<std::string>{"keep-alive", "x-foo", "close"});
  CHECK(rag::core::connection_options({}).empty());
}
