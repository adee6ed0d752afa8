#include "util/time.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

using rag::util::format_rfc3339_us;
using rag::util::parse_rfc3339_us;

TEST_CASE("time: RFC 3339 formatting in UTC with microseconds")
{
  CHECK(format_rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339_us(1795675527123456) == "2026-11-26T06:45:27.123456Z");
  CHECK(format_rfc3339_us(1795675527123456, false) == "2026-11-26T06:45:27Z");
  CHECK(format_rfc3339_us(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339_us(1709251199000000) == "2024-02-29T23:59:59.000000Z");
  CHECK(format_rfc3339_us(951782400000000) == "2000-02-29T00:00:00.000000Z");
  CHECK(format_rfc3339_us(-62167219200000000) == "0000-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339_us(253402300799999999) == "9999-12-31T23:59:59.999999Z");
  // The extremes of int64 clamp to what std::chrono::year can name, never overflow.
  CHECK(format_rfc3339_us(std::numeric_limits<std::int64_t>::max()) ==
        "32767-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339_us(std::numeric_limits<std::int64_t>::min()) ==
        "-32767-01-01T00:00:00.000000Z");
}

TEST_CASE("time: RFC 3339 parsing: forms, offsets, fractions, validity")
{
  CHECK(parse_rfc3339_us("2026-11-26T06:45:27.123456Z") == 1795675527123456);
  CHECK(parse_rfc3339_us("2026-11-26t06:45:27.123456z") == 1795675527123456);
  CHECK(parse_rfc3339_us("2026-11-26 06:45:27.123456789Z") == 1795675527123456);
  CHECK(parse_rfc3339_us("2026-11-26T08:45:27.123456+02:00") == 1795675527123456);
  CHECK(parse_rfc3339_us("2026-11-26T01:15:27.123456-05:30") == 1795675527123456);
  CHECK(parse_rfc3339_us("2024-02-29T00:00:00Z").has_value());
  CHECK(parse_rfc3339_us("2016-12-31T23:59:60Z").has_value()); // a leap second
  for (const char* bad :
       {"", "2026-11-26", "2026-11-26T06:45Z", "2026-11-26T06:45:27", "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T06:60:00Z", "2026-11-26T06:45:61Z", "2026-11-26T06:45:27.Z",
        "2026-11-26T06:45:27.1234567890Z", "2026-11-26T06:45:27+2:00", "2026-11-26T06:45:27Zx",
        "2026-11-26T06:45:27+24:00", "+2026-11-26T06:45:27Z", "2026/11/26T06:45:27Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339_us(bad).has_value());
  }
}

TEST_CASE("time: every formatted time parses back to itself")
{
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1795675527123456},
                         std::int64_t{951782400000000}, std::int64_t{253402300799999999},
                         std::int64_t{-62167219200000000}}) {
    CAPTURE(t);
    CHECK(parse_rfc3339_us(format_rfc3339_us(t)) == t);
  }
}
