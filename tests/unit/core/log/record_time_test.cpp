#include "core/log/record_time.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string_view>

using namespace rag::core;

TEST_CASE("record_time: time formatting")
{
  CHECK(format_time_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_time_us(1795675527123456) == "2026-11-26T06:45:27.123456Z");
  CHECK(format_time_us(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_time_us(1709251199000000) == "2024-02-29T23:59:59.000000Z");
  CHECK(format_time_us(951782400000000) == "2000-02-29T00:00:00.000000Z");
}

TEST_CASE("record_time: time parsing")
{
  const auto parse = [](std::string_view text) {
    auto t = parse_time_us(text);
    return t.ok() ? *t : INT64_MIN;
  };
  CHECK(parse("2026-11-26T06:45:27.123456Z") == 1795675527123456);
  CHECK(parse("2026-11-26t06:45:27.123456z") == 1795675527123456);
  CHECK(parse("2026-11-26 06:45:27.123456Z") == 1795675527123456);
  CHECK(parse("2026-11-26T06:45:27Z") == 1795675527000000);
  CHECK(parse("2026-11-26T06:45:27.1Z") == 1795675527100000);
  CHECK(parse("2026-11-26T06:45:27.123456789Z") == 1795675527123456);
  CHECK(parse("2026-11-26T07:45:27.123456+01:00") == 1795675527123456);
  CHECK(parse("2026-11-25T22:15:27.123456-08:30") == 1795675527123456);
  CHECK(parse("2026-11-26T06:45:27+00:00") == 1795675527000000);
  CHECK(parse("1970-01-01T00:00:00Z") == 0);
  CHECK(parse("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parse("2024-02-29T23:59:59Z") == 1709251199000000);
  for (const char* bad :
       {"", "2026-11-26", "2026-11-26T06:45:27", "2026-11-26T06:45:27.Z",
        "2026-11-26T06:45:27.1234567890Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T06:60:00Z", "2026-11-26T06:45:27+0100", "2026-11-26T06:45:27+01",
        "2026-11-26T06:45:27Zjunk", "26-11-26T06:45:27Z", "2026-11-26X06:45:27Z",
        "2026-11-26T06:45:27+24:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time_us(bad).ok());
  }
  // Every formatted time parses back to itself.
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1795675527123456},
                         std::int64_t{253402300799999999}, std::int64_t{-62135596800000000}}) {
    CAPTURE(t);
    CHECK(parse(format_time_us(t)) == t);
  }
}
