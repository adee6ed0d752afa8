#include "core/duration.hpp"
#include "core/log/record_time.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

namespace {

using rag::core::format_duration_us;
using rag::core::parse_duration_us;
using rag::core::parse_time_spec;

constexpr std::int64_t k_s = 1'000'000;

// Run the test body with TZ set to `tz`, restoring the previous zone afterwards.
class ScopedTimeZone
{
public:
  explicit ScopedTimeZone(const char* tz)
  {
    if (const char* old = std::getenv("TZ"); old != nullptr) {
      m_old = old;
    }
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone()
  {
    if (m_old) {
      ::setenv("TZ", m_old->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedTimeZone(const ScopedTimeZone&) = delete;
  ScopedTimeZone& operator=(const ScopedTimeZone&) = delete;

private:
  std::optional<std::string> m_old;
};

} // namespace

TEST_CASE("parse_duration_us accepts whole numbers with units")
{
  CHECK(*parse_duration_us("500ms") == 500'000);
  CHECK(*parse_duration_us("30s") == 30 * k_s);
  CHECK(*parse_duration_us("10m") == 600 * k_s);
  CHECK(*parse_duration_us("2h") == 7200 * k_s);
  CHECK(*parse_duration_us("7d") == 7 * 86400 * k_s);
  CHECK(*parse_duration_us("1w") == 7 * 86400 * k_s);
  CHECK(*parse_duration_us("1h30m") == 5400 * k_s);
  CHECK(*parse_duration_us("0s") == 0);
  CHECK(*parse_duration_us("250us") == 250);
}

TEST_CASE("parse_duration_us rejects what it cannot read, as a usage error")
{
  for (const char* bad :
       {"", "10", "10x", "m", "1.5h", "-5m", "10 m", "h1", "99999999999999999999d"}) {
    CAPTURE(bad);
    const auto result = parse_duration_us(bad);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().exit_code == 2);
    CHECK_FALSE(result.error().hint.empty());
  }
  CHECK(parse_duration_us("10x").error().message.find("unknown unit 'x'") != std::string::npos);
  CHECK(parse_duration_us("10").error().message.find("no unit") != std::string::npos);
}

TEST_CASE("format_duration_us picks a readable unit")
{
  CHECK(format_duration_us(850) == "850µs");
  CHECK(format_duration_us(12'400) == "12ms");
  CHECK(format_duration_us(12'600) == "13ms");
  CHECK(format_duration_us(1'250'000) == "1.25s");
  CHECK(format_duration_us(125 * k_s) == "2m05s");
  CHECK(format_duration_us((3 * 3600 + 7 * 60) * k_s) == "3h07m");
  CHECK(format_duration_us(-5) == "0µs");
}

TEST_CASE("parse_time_spec reads ages, RFC 3339 and local times")
{
  const ScopedTimeZone tz("UTC");
  const std::int64_t now = *rag::core::parse_time_us("2026-11-26T12:00:00Z");

  CHECK(*parse_time_spec("10m", now) == now - 600 * k_s);
  CHECK(*parse_time_spec("7d", now) == now - 7 * 86400 * k_s);
  CHECK(*parse_time_spec("2026-11-26T06:45:27.5Z", now) ==
        *rag::core::parse_time_us("2026-11-26T06:45:27.500Z"));
  CHECK(*parse_time_spec("2026-11-26T07:45:27+01:00", now) ==
        *rag::core::parse_time_us("2026-11-26T06:45:27Z"));
  CHECK(*parse_time_spec("2026-11-25", now) == *rag::core::parse_time_us("2026-11-25T00:00:00Z"));
  CHECK(*parse_time_spec("2026-11-25 14:30", now) ==
        *rag::core::parse_time_us("2026-11-25T14:30:00Z"));
  CHECK(*parse_time_spec("2026-11-25T14:30:05", now) ==
        *rag::core::parse_time_us("2026-11-25T14:30:05Z"));
  CHECK(*parse_time_spec("09:15", now) == *rag::core::parse_time_us("2026-11-26T09:15:00Z"));
  CHECK(*parse_time_spec("09:15:30", now) == *rag::core::parse_time_us("2026-11-26T09:15:30Z"));
}

TEST_CASE("parse_time_spec uses the local zone for local forms")
{
  const ScopedTimeZone tz("EST5");
  const std::int64_t now = *rag::core::parse_time_us("2026-11-26T12:00:00Z");
  CHECK(*parse_time_spec("2026-11-25 14:30", now) ==
        *rag::core::parse_time_us("2026-11-25T19:30:00Z"));
  // An RFC 3339 time carries its own offset; the zone does not matter.
  CHECK(*parse_time_spec("2026-11-25T14:30:00Z", now) ==
        *rag::core::parse_time_us("2026-11-25T14:30:00Z"));
}

TEST_CASE("parse_time_spec rejects bad times with a hint")
{
  const std::int64_t now = 1'800'000'000 * k_s;
  for (const char* bad : {"yesterday", "2026-13-01", "2026-02-30", "25:00", "12:60", "2026-11-26X",
                          "10q", "2026-11-26 14", ""}) {
    CAPTURE(bad);
    const auto result = parse_time_spec(bad, now);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().exit_code == 2);
    CHECK_FALSE(result.error().hint.empty());
  }
  CHECK(parse_time_spec("10q", now).error().message.find("unknown unit 'q'") != std::string::npos);
}
