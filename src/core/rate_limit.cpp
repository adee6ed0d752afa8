#include "core/rate_limit.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace rag::core {

namespace {

constexpr double k_max_rate_per_second = 1'000'000;
constexpr const char* k_rate_hint = "use a number of sends per second, minute or hour: "
                                    "--rate 50/s, --rate 600/m, --rate 0.5/s";

} // namespace

Result<double>
parse_rate(std::string_view text)
{
  const std::size_t slash = text.find('/');
  const std::string_view number = text.substr(0, slash);
  const std::string_view unit = slash == std::string_view::npos ? "s" : text.substr(slash + 1);
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() ||
      !std::isfinite(value)) {
    return usage_error(fmt::format("invalid --rate '{}'", text), k_rate_hint);
  }
  double seconds = 0;
  if (unit == "s" || unit == "sec") {
    seconds = 1;
  } else if (unit == "m" || unit == "min") {
    seconds = 60;
  } else if (unit == "h" || unit == "hour") {
    seconds = 3600;
  } else {
    return usage_error(fmt::format("invalid --rate '{}': unknown unit '{}'", text, unit),
                       k_rate_hint);
  }
  const double per_second = value / seconds;
  if (!(per_second > 0) || per_second > k_max_rate_per_second) {
    return usage_error(fmt::format("invalid --rate '{}': out of range", text),
                       "give more than 0 and at most 1000000/s");
  }
  return per_second;
}

RateLimiter::RateLimiter(Clock& clock, double per_second)
    : m_clock(clock), m_interval_us(1e6 / per_second)
{}

std::int64_t
RateLimiter::acquire(std::size_t count)
{
  const auto now = static_cast<double>(m_clock.now_us());
  // A late caller starts now; the slots it missed are gone, so no burst follows.
  const double start = m_next_us == 0 ? now : std::max(now, m_next_us);
  m_next_us = start + m_interval_us * static_cast<double>(count);
  return static_cast<std::int64_t>(std::ceil(start - now));
}

} // namespace rag::core
