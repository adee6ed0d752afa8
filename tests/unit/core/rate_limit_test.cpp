#include "core/rate_limit.hpp"

#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace rag;

using test::ManualClock;

TEST_CASE("rate limit: parse_rate reads N/s, N/m, N/h and a bare number")
{
  CHECK(*core::parse_rate("50/s") == doctest::Approx(50));
  CHECK(*core::parse_rate("50") == doctest::Approx(50));
  CHECK(*core::parse_rate("600/m") == doctest::Approx(10));
  CHECK(*core::parse_rate("3600/h") == doctest::Approx(1));
  CHECK(*core::parse_rate("0.5/s") == doctest::Approx(0.5));
  for (const char* bad : {"", "/s", "0/s", "-1/s", "x/s", "10/d", "10/", "5s", "1e9/s", "nan"}) {
    CAPTURE(bad);
    const auto rate = core::parse_rate(bad);
    REQUIRE_FALSE(rate.ok());
    CHECK(rate.error().exit_code == 2);
  }
}

TEST_CASE("rate limit: sends are spaced evenly, the first goes at once")
{
  ManualClock clock;
  core::RateLimiter limiter(clock, 50); // one send every 20 ms
  CHECK(limiter.acquire() == 0);
  CHECK(limiter.acquire() == 20'000);
  CHECK(limiter.acquire() == 40'000);
  // The caller waited as told: the next slot is 20 ms after the one it waited for.
  clock.advance(std::chrono::microseconds(40'000));
  CHECK(limiter.acquire() == 20'000);
}

TEST_CASE("rate limit: 100 sends at 50/s span 1.98 s of slots")
{
  ManualClock clock;
  core::RateLimiter limiter(clock, 50);
  const std::int64_t start = clock.now_us();
  for (int i = 0; i < 100; ++i) {
    clock.advance(std::chrono::microseconds(limiter.acquire())); // sleep exactly as long as told
  }
  CHECK(clock.now_us() - start == 1'980'000);
}

TEST_CASE("rate limit: a late caller gets no burst to catch up")
{
  ManualClock clock;
  core::RateLimiter limiter(clock, 10); // every 100 ms
  CHECK(limiter.acquire() == 0);
  clock.advance(std::chrono::microseconds(1'000'000)); // a second late: ten slots were missed
  CHECK(limiter.acquire() == 0);
  CHECK(limiter.acquire() == 100'000);
}

TEST_CASE("rate limit: acquiring several slots at once moves the next slot by all of them")
{
  ManualClock clock;
  core::RateLimiter limiter(clock, 4); // every 250 ms
  CHECK(limiter.acquire(3) == 0);
  CHECK(limiter.acquire() == 750'000);
}

TEST_CASE("rate limit: fractional intervals do not drift")
{
  ManualClock clock;
  core::RateLimiter limiter(clock, 3); // 333333.3 µs
  std::int64_t waited = 0;
  for (int i = 0; i < 3; ++i) {
    waited = limiter.acquire();
  }
  CHECK(waited == 666'667); // ceil(2 * 333333.33)
}
