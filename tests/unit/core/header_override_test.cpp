#include "core/header_override.hpp"

#include <doctest/doctest.h>

using namespace rag;
using core::Headers;

TEST_CASE("header override: parse NAME:VALUE")
{
  auto header = core::parse_header_override("X-Env: dev ");
  REQUIRE(header.ok());
  CHECK(header->first == "X-Env");
  CHECK(header->second == "dev");
  header = core::parse_header_override("x-empty:");
  REQUIRE(header.ok());
  CHECK(header->first == "x-empty");
  CHECK(header->second.empty());
  header = core::parse_header_override("Authorization:Bearer a:b");
  REQUIRE(header.ok());
  CHECK(header->second == "Bearer a:b"); // only the first ':' separates
}

TEST_CASE("header override: bad specs and framing headers are usage errors")
{
  const std::string nul("X-A: a\0b", 8);
  for (const std::string& bad :
       {std::string("no-colon"), std::string(": v"), std::string("X A: v"),
        std::string("X-A: a\r\nX-B: b"), nul, std::string("Content-Length: 5"),
        std::string("transfer-encoding: chunked"), std::string("Connection: close")}) {
    CAPTURE(bad);
    const auto header = core::parse_header_override(bad);
    REQUIRE_FALSE(header.ok());
    CHECK(header.error().exit_code == 2);
  }
}

TEST_CASE("header override: replaces every header of the name at the first one's place")
{
  const Headers headers = {
      {"Host", "h"}, {"X-Sig", "old1"}, {"Accept", "*/*"}, {"x-sig", "old2"}, {"X-Other", "o"}};
  const Headers out = core::apply_header_overrides(headers, {{"X-SIG", "new"}});
  const Headers expected = {{"Host", "h"}, {"X-SIG", "new"}, {"Accept", "*/*"}, {"X-Other", "o"}};
  CHECK(out == expected);
}

TEST_CASE("header override: absent headers are appended; same-name overrides stay together")
{
  const Headers headers = {{"Host", "h"}, {"Accept", "*/*"}};
  const Headers out = core::apply_header_overrides(
      headers, {{"X-New", "1"}, {"Accept", "application/json"}, {"x-new", "2"}});
  const Headers expected = {
      {"Host", "h"}, {"Accept", "application/json"}, {"X-New", "1"}, {"x-new", "2"}};
  CHECK(out == expected);
}

TEST_CASE("header override: no overrides leave the headers untouched")
{
  const Headers headers = {{"B", "1"}, {"a", "2"}, {"B", "3"}};
  CHECK(core::apply_header_overrides(headers, {}) == headers);
}
