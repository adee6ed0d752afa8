#include "core/json_line.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

using rag::core::JsonLine;

TEST_CASE("json line: fields in order, commas placed, strings escaped")
{
  CHECK(JsonLine().str() == "{}");
  const std::string line = JsonLine()
                               .text("a", "x\"y\\z\n")
                               .number("n", -42)
                               .boolean("t", true)
                               .texts("list", {"p", "q\x01"})
                               .texts("none", {})
                               .pairs("headers", {{"Content-Type", "a/b"}, {"X", ""}})
                               .str();
  CHECK(line == R"({"a":"x\"y\\z\n","n":-42,"t":true,"list":["p","q\u0001"],"none":[],)"
                R"("headers":[["Content-Type","a/b"],["X",""]]})");
  // Valid JSON whatever the bytes: invalid UTF-8 in names and values becomes U+FFFD.
  const std::string hostile =
      JsonLine().text("k\xff", "v\xc3(").pairs("h", {{"\xfe", "\x80"}}).str();
  const auto parsed = nlohmann::json::parse(hostile);
  CHECK(parsed.size() == 2);
  CHECK(parsed.at("h").at(0).at(1).get<std::string>() == "\xef\xbf\xbd");
}
