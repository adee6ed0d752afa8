#include "core/json_bounded.hpp"
#include "core/json_fields.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace rag::core;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

namespace {

// `depth` arrays, one inside the other.
std::string
nested_arrays(std::size_t depth)
{
  return std::string(depth, '[') + std::string(depth, ']');
}

// `depth` objects, one inside the other: {"a":{"a":...1...}}.
std::string
nested_objects(std::size_t depth)
{
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) {
    text += R"({"a":)";
  }
  text += "1";
  text.append(depth, '}');
  return text;
}

} // namespace

TEST_CASE("json_depth_within: arrays and objects at the cap pass, one more does not")
{
  const std::size_t cap = k_json_max_depth;
  for (const auto& make : {&nested_arrays, &nested_objects}) {
    CHECK(json_depth_within(make(cap - 1)));
    CHECK(json_depth_within(make(cap)));
    CHECK_FALSE(json_depth_within(make(cap + 1)));
    CHECK_FALSE(json_accept_bounded(make(cap + 1)));
    CHECK(json_accept_bounded(make(cap)));

    const Json at_cap = parse_json_bounded<Json>(make(cap));
    REQUIRE_FALSE(at_cap.is_discarded());
    CHECK(at_cap.dump() == make(cap)); // dumping recurses: fine at the cap
    CHECK(parse_json_bounded<Json>(make(cap + 1)).is_discarded());
    CHECK(parse_json_bounded<OrderedJson>(make(cap + 1)).is_discarded());
  }
  // Another cap, mixed nesting, scalars.
  CHECK(json_depth_within(R"([{"a":[1]}])", 3));
  CHECK_FALSE(json_depth_within(R"([{"a":[1]}])", 2));
  CHECK(json_depth_within("5", 0));
  CHECK_FALSE(json_depth_within("[]", 0));
  CHECK(json_depth_within("[] [] [] [] []", 1)); // siblings do not add up
}

TEST_CASE("json_depth_within: brackets inside strings do not count, escaped quotes do not end "
          "them")
{
  const std::string brackets(1000, '[');
  CHECK(json_depth_within(R"([")" + brackets + R"("])", 1));
  CHECK(json_accept_bounded(R"([")" + brackets + R"("])", 1));
  CHECK(json_depth_within(R"({")" + brackets + R"(":")" + brackets + R"("})", 1));
  // \" stays inside the string; \\ before the quote ends it.
  CHECK(json_depth_within(R"(["a\"[[[[[[[[[[[[", 1])", 1));
  CHECK(json_depth_within(R"(["a\\\"[[[[[[[[[[", 1])", 1));
  CHECK_FALSE(json_depth_within(R"(["a\\", [[1]]])", 2));
  CHECK(json_depth_within(R"(["a\\", [[1]]])", 3));
  CHECK_FALSE(json_depth_within(R"(["\\\\", [[1]]])", 2));
  // An unterminated string hides the rest; the parser then rejects the text.
  const std::string open = R"([")" + brackets;
  CHECK(json_depth_within(open, 1));
  CHECK(parse_json_bounded<Json>(open, nullptr, 1).is_discarded());
}

TEST_CASE("a 50000-deep document is not JSON, without a crash")
{
  // The body that killed `rag relay`: 100 KB of [ then ].
  const std::string arrays = nested_arrays(50000);
  CHECK_FALSE(json_depth_within(arrays));
  CHECK_FALSE(json_accept_bounded(arrays));
  CHECK(parse_json_bounded<Json>(arrays).is_discarded());
  CHECK(parse_json_bounded<OrderedJson>(arrays).is_discarded());
  const std::string objects = nested_objects(50000);
  CHECK(parse_json_bounded<Json>(objects).is_discarded());
  // Not even valid JSON, just open brackets.
  CHECK(parse_json_bounded<Json>(std::string(50000, '{')).is_discarded());
}

TEST_CASE("parse_json_bounded: valid JSON parses, invalid JSON is discarded, callbacks apply")
{
  const Json value = parse_json_bounded<Json>(R"({"b":[1,2],"a":"x"})");
  REQUIRE(value.is_object());
  CHECK(value["b"][1] == 2);
  const OrderedJson ordered = parse_json_bounded<OrderedJson>(R"({"b":1,"a":2})");
  CHECK(ordered.dump() == R"({"b":1,"a":2})");
  CHECK(parse_json_bounded<Json>("{").is_discarded());
  CHECK(parse_json_bounded<Json>("").is_discarded());
  CHECK(parse_json_bounded<Json>("\"\xff\"").is_discarded());
  CHECK_FALSE(json_accept_bounded("{\"a\":1,}"));
  CHECK(json_accept_bounded("  \"text\"  "));

  // A callback that drops top-level "skip" keys.
  const auto drop = [](int depth, Json::parse_event_t event, Json& parsed) {
    return depth != 1 || event != Json::parse_event_t::key || parsed != "skip";
  };
  const Json dropped = parse_json_bounded<Json>(R"({"keep":1,"skip":[[1],{"a":2}]})", drop);
  CHECK(dropped == Json::parse(R"({"keep":1})"));
}

TEST_CASE("parse_json_dropping_deep: keeps the document, without what lies below the cap")
{
  // Within the cap: the same document as a plain parse.
  const std::string shallow = R"({"a":[1,{"b":[2]}],"c":"[[[["})";
  CHECK(parse_json_dropping_deep<Json>(shallow, 4) == Json::parse(shallow));
  CHECK(parse_json_dropping_deep<Json>(shallow, 3) == Json::parse(R"({"a":[1,{}],"c":"[[[["})"));
  CHECK(parse_json_dropping_deep<Json>("{", 3).is_discarded());

  // Below the cap, arrays and objects (and what they hold) are left out.
  CHECK(parse_json_dropping_deep<Json>(R"({"a":1,"x":[[[[1]]]],"b":2})", 2) ==
        Json::parse(R"({"a":1,"x":[],"b":2})"));
  CHECK(parse_json_dropping_deep<Json>(R"({"x":{"y":[1]},"z":{"k":{"q":1},"w":2}})", 2) ==
        Json::parse(R"({"x":{},"z":{"w":2}})"));
  CHECK(parse_json_dropping_deep<OrderedJson>(R"([{"a":{"b":1}},[[1]],3])", 2).dump() ==
        R"([{},[],3])");

  // 50000 levels in an unknown field: the rest of the document is read.
  const std::string deep =
      R"({"v":1,"x":)" + nested_arrays(50000) + R"(,"y":)" + nested_objects(50000) + R"(,"k":"z"})";
  const Json value = parse_json_dropping_deep<Json>(deep);
  REQUIRE(value.is_object());
  CHECK(value["v"] == 1);
  CHECK(value["k"] == "z");
  // Nothing below the cap was kept: `x` is one level down.
  CHECK(value["x"].dump() == nested_arrays(k_json_max_depth - 1));
  CHECK(parse_json_dropping_deep<Json>(nested_arrays(50000)).dump().size() == 2 * k_json_max_depth);
}

TEST_CASE("json_string_fields: the string fields of an object, nothing from hostile input")
{
  const auto fields = rag::core::json_string_fields(R"({"after":"r7","n":3,"o":{"x":"y"},"m":"")"
                                                    R"(})");
  REQUIRE(fields.has_value());
  CHECK(*fields == std::map<std::string, std::string>{{"after", "r7"}, {"m", ""}});
  CHECK_FALSE(rag::core::json_string_fields("[\"a\"]").has_value());
  CHECK_FALSE(rag::core::json_string_fields("not json").has_value());
  CHECK_FALSE(rag::core::json_string_fields("").has_value());
  // Nested past the cap: not an object rag reads (and nothing recurses over it).
  const std::string deep = "{\"a\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  CHECK_FALSE(rag::core::json_string_fields(deep).has_value());
}
