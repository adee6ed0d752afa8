#include "util/time.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/core.h>

namespace rag::util {

namespace {

using std::chrono::days;
using std::chrono::microseconds;
using std::chrono::sys_days;

// The day numbers (since 1970-01-01) of the first and last day std::chrono::year names.
constexpr std::int64_t k_min_day = -12'687'428; // -32767-01-01
constexpr std::int64_t k_max_day = 11'248'737;  // 32767-12-31

// Read exactly `n` decimal digits at `pos`, advancing it; false when not digits.
bool
read_digits(std::string_view text, std::size_t& pos, std::size_t n, unsigned& out)
{
  if (pos + n > text.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return true;
}

// Consume `c` at `pos` when it is there.
bool
accept(std::string_view text, std::size_t& pos, char c)
{
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

} // namespace

std::string
format_rfc3339_us(std::int64_t time_us, bool fraction)
{
  const auto time = std::chrono::sys_time<microseconds>(microseconds(time_us));
  const auto day = std::chrono::floor<days>(time);
  const std::int64_t day_count =
      std::clamp<std::int64_t>(day.time_since_epoch().count(), k_min_day, k_max_day);
  const std::chrono::year_month_day date{sys_days(days(day_count))};
  // Within the day (or at the clamped day's edge): hours, minutes, seconds, micros.
  const std::int64_t in_day_us = day_count == day.time_since_epoch().count() ? (time - day).count()
                                 : day_count == k_min_day                    ? 0
                                                                             : 86'400'000'000 - 1;
  const std::chrono::hh_mm_ss<microseconds> clock{microseconds(in_day_us)};
  const int year = static_cast<int>(date.year());
  // Into a stack buffer, one string at the end: the log formats a time for every event.
  // The widest text is "-32767-12-31T23:59:59.999999Z" (29 bytes): years are clamped.
  char buffer[40];
  char* end = fmt::format_to(buffer, "{}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", year < 0 ? "-" : "",
                             year < 0 ? -year : year, static_cast<unsigned>(date.month()),
                             static_cast<unsigned>(date.day()), clock.hours().count(),
                             clock.minutes().count(), clock.seconds().count());
  if (fraction) {
    end = fmt::format_to(end, ".{:06}", clock.subseconds().count());
  }
  *end++ = 'Z';
  return std::string(buffer, end);
}

std::optional<std::int64_t>
parse_rfc3339_us(std::string_view text)
{
  std::size_t pos = 0;
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!read_digits(text, pos, 4, year) || !accept(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !accept(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return std::nullopt;
  }
  // RFC 3339 allows 't' and (in its note) a space for 'T'.
  if (!accept(text, pos, 'T') && !accept(text, pos, 't') && !accept(text, pos, ' ')) {
    return std::nullopt;
  }
  if (!read_digits(text, pos, 2, hour) || !accept(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !accept(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(static_cast<int>(year)),
                                         std::chrono::month(month), std::chrono::day(day)};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::int64_t micros = 0;
  if (accept(text, pos, '.')) {
    std::size_t digits = 0;
    std::int64_t scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) {
        return std::nullopt;
      }
      // Digits past the sixth are below our resolution: truncate, don't round, so
      // a time never moves into the next microsecond.
      micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (digits == 0) {
      return std::nullopt;
    }
  }
  std::int64_t offset_s = 0;
  if (accept(text, pos, 'Z') || accept(text, pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    unsigned offset_h = 0;
    unsigned offset_m = 0;
    if (!read_digits(text, pos, 2, offset_h) || !accept(text, pos, ':') ||
        !read_digits(text, pos, 2, offset_m) || offset_h > 23 || offset_m > 59) {
      return std::nullopt;
    }
    offset_s = sign * static_cast<std::int64_t>(offset_h * 3600 + offset_m * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) {
    return std::nullopt;
  }
  const std::int64_t day_count = sys_days(date).time_since_epoch().count();
  const std::int64_t secs =
      day_count * 86'400 + static_cast<std::int64_t>(hour * 3600 + minute * 60 + second) - offset_s;
  return secs * 1'000'000 + micros;
}

} // namespace rag::util
