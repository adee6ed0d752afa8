#include "core/duration.hpp"

#include "core/log/record_time.hpp"
#include "util/bytes.hpp"

#include <ctime>
#include <limits>
#include <optional>

#include <fmt/core.h>

namespace rag::core {

namespace {

constexpr std::int64_t k_us_per_ms = 1'000;
constexpr std::int64_t k_us_per_s = 1'000'000;
constexpr std::int64_t k_us_per_min = 60 * k_us_per_s;
constexpr std::int64_t k_us_per_hour = 60 * k_us_per_min;
constexpr std::int64_t k_us_per_day = 24 * k_us_per_hour;

constexpr const char* k_duration_hint =
    "use whole numbers with a unit: 500ms, 30s, 10m, 2h, 7d, 1w";

// Return the microseconds in one `unit`, or nothing for an unknown unit.
std::optional<std::int64_t>
unit_us(std::string_view unit)
{
  if (unit == "us" || unit == "µs") {
    return 1;
  }
  if (unit == "ms") {
    return k_us_per_ms;
  }
  if (unit == "s" || unit == "sec" || unit == "secs") {
    return k_us_per_s;
  }
  if (unit == "m" || unit == "min" || unit == "mins") {
    return k_us_per_min;
  }
  if (unit == "h" || unit == "hr" || unit == "hrs") {
    return k_us_per_hour;
  }
  if (unit == "d") {
    return k_us_per_day;
  }
  if (unit == "w") {
    return 7 * k_us_per_day;
  }
  return std::nullopt;
}

bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

// Read `n` digits at `pos` (advancing it) into `out`.
bool
read_number(std::string_view text, std::size_t& pos, std::size_t n, int& out)
{
  if (pos + n > text.size()) {
    return false;
  }
  int value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_digit(text[pos + i])) {
      return false;
    }
    value = value * 10 + (text[pos + i] - '0');
  }
  pos += n;
  out = value;
  return true;
}

// Return "HH:MM" or "HH:MM:SS" at `pos` (advancing it), filling `tm`.
bool
read_clock(std::string_view text, std::size_t& pos, std::tm& tm)
{
  if (!read_number(text, pos, 2, tm.tm_hour) || pos >= text.size() || text[pos] != ':') {
    return false;
  }
  ++pos;
  if (!read_number(text, pos, 2, tm.tm_min)) {
    return false;
  }
  tm.tm_sec = 0;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!read_number(text, pos, 2, tm.tm_sec)) {
      return false;
    }
  }
  return tm.tm_hour <= 23 && tm.tm_min <= 59 && tm.tm_sec <= 60;
}

// Convert a broken-down local time to microseconds; false when mktime cannot.
std::optional<std::int64_t>
local_to_us(std::tm tm)
{
  const int year = tm.tm_year;
  const int month = tm.tm_mon;
  const int day = tm.tm_mday;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  // mktime normalises 2026-02-31 to March 3rd; a date that moved was not a date.
  if (t == static_cast<std::time_t>(-1) || tm.tm_year != year || tm.tm_mon != month ||
      tm.tm_mday != day) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(t) * k_us_per_s;
}

// Parse the local forms "YYYY-MM-DD[( |T)HH:MM[:SS]]" and "HH:MM[:SS]" (today).
std::optional<std::int64_t>
parse_local_time(std::string_view text, std::int64_t now_us)
{
  std::tm tm{};
  std::size_t pos = 0;
  if (text.size() >= 10 && text[4] == '-') {
    if (!read_number(text, pos, 4, tm.tm_year) || text[pos++] != '-' ||
        !read_number(text, pos, 2, tm.tm_mon) || pos >= text.size() || text[pos++] != '-' ||
        !read_number(text, pos, 2, tm.tm_mday)) {
      return std::nullopt;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31) {
      return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (pos < text.size()) {
      if (text[pos] != ' ' && text[pos] != 'T' && text[pos] != 't') {
        return std::nullopt;
      }
      ++pos;
      if (!read_clock(text, pos, tm)) {
        return std::nullopt;
      }
    }
  } else {
    const auto now_s = static_cast<std::time_t>(now_us / k_us_per_s);
    if (localtime_r(&now_s, &tm) == nullptr || !read_clock(text, pos, tm)) {
      return std::nullopt;
    }
  }
  if (pos != text.size()) {
    return std::nullopt;
  }
  return local_to_us(tm);
}

} // namespace

Result<std::int64_t>
parse_duration_us(std::string_view text)
{
  const std::string shown = util::utf8_replace_invalid(text);
  if (text.empty()) {
    return usage_error("empty duration", k_duration_hint);
  }
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos])) {
      return usage_error(fmt::format("'{}' is not a duration", shown), k_duration_hint);
    }
    std::int64_t number = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return usage_error(fmt::format("duration '{}' is too large", shown), k_duration_hint);
      }
      number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    const std::size_t unit_start = pos;
    while (pos < text.size() && !is_digit(text[pos])) {
      ++pos;
    }
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) {
      return usage_error(fmt::format("duration '{}' has no unit", shown), k_duration_hint);
    }
    const auto scale = unit_us(unit);
    if (!scale) {
      return usage_error(fmt::format("unknown unit '{}' in duration '{}'",
                                     util::utf8_replace_invalid(unit), shown),
                         k_duration_hint);
    }
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / *scale) {
      return usage_error(fmt::format("duration '{}' is too large", shown), k_duration_hint);
    }
    total += number * *scale;
  }
  return total;
}

std::string
format_duration_us(std::int64_t duration_us)
{
  if (duration_us < 0) {
    duration_us = 0;
  }
  if (duration_us < k_us_per_ms) {
    return fmt::format("{}µs", duration_us);
  }
  if (duration_us < k_us_per_s) {
    return fmt::format("{}ms", (duration_us + k_us_per_ms / 2) / k_us_per_ms);
  }
  if (duration_us < k_us_per_min) {
    return fmt::format("{:.2f}s", static_cast<double>(duration_us) / k_us_per_s);
  }
  const std::int64_t seconds = duration_us / k_us_per_s;
  if (seconds < 3600) {
    return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  }
  return fmt::format("{}h{:02}m", seconds / 3600, seconds / 60 % 60);
}

Result<std::int64_t>
parse_time_spec(std::string_view text, std::int64_t now_us)
{
  if (auto rfc3339 = parse_time_us(text)) {
    return *rfc3339;
  }
  if (auto local = parse_local_time(text, now_us)) {
    return *local;
  }
  // Something that starts like a duration gets the duration's precise complaint.
  const bool looks_like_duration =
      !text.empty() && is_digit(text[0]) && text.find_first_of("-:") == std::string_view::npos;
  if (looks_like_duration) {
    RAG_TRY_ASSIGN(const std::int64_t age, parse_duration_us(text));
    return now_us - age;
  }
  return usage_error(fmt::format("'{}' is not a time", util::utf8_replace_invalid(text)),
                     "use an age like 10m, 2h, 7d or a time like 2026-11-26T14:30:00Z, "
                     "2026-11-26 14:30 or 14:30");
}

} // namespace rag::core
