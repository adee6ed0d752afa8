#pragma once

// Send-rate limiting for `rag replay --rate`. Pure: time comes from a Clock and the
// caller does the waiting, so tests drive it with a fake clock.

#include "core/clock.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rag::core {

// Parse a send rate into sends per second: "50/s", "50" (per second), "600/m",
// "3600/h", "0.5/s"; zero, negative or absurd rates are a usage Error.
Result<double> parse_rate(std::string_view text);

// Spaces sends evenly, never in bursts: the n-th send may start no earlier than
// (n - 1) / rate seconds after the first. A send that comes late does not earn
// credit for a burst later.
class RateLimiter
{
public:
  // Limit to `per_second` sends per second (must be > 0).
  RateLimiter(Clock& clock, double per_second);

  // Reserve the next `count` send slots and return how many microseconds the caller
  // must wait before starting them (0: start now).
  std::int64_t acquire(std::size_t count = 1);

private:
  Clock& m_clock;
  double m_interval_us;
  double m_next_us = 0; // earliest start of the next send; 0 before the first
};

} // namespace rag::core
