#include "core/log/record_time.hpp"

#include "util/bytes.hpp"

#include <cstdint>

#include <fmt/core.h>

namespace rag::core {

namespace {

std::int64_t
floor_div(std::int64_t a, std::int64_t b)
{
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t
days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate
{
  std::int64_t year;
  unsigned month;
  unsigned day;
};

CivilDate
civil_from_days(std::int64_t z)
{
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool
is_leap(std::int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned
days_in_month(std::int64_t y, unsigned m)
{
  static constexpr unsigned k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// Read exactly `n` decimal digits at `pos`, advancing it; false when not digits.
bool
read_digits(std::string_view text, std::size_t& pos, std::size_t n, unsigned& out)
{
  if (pos + n > text.size()) {
    return false;
  }
  unsigned value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  out = value;
  return true;
}

bool
expect_char(std::string_view text, std::size_t& pos, char c)
{
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

void
append_padded(std::string& out, std::uint64_t value, int width)
{
  char buf[24];
  int len = 0;
  do {
    buf[len++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = len; i < width; ++i) {
    out.push_back('0');
  }
  while (len > 0) {
    out.push_back(buf[--len]);
  }
}

} // namespace

std::string
format_time_us(std::int64_t time_us)
{
  const std::int64_t secs = floor_div(time_us, 1'000'000);
  const auto micros = static_cast<std::uint64_t>(time_us - secs * 1'000'000);
  const std::int64_t days = floor_div(secs, 86'400);
  const auto second_of_day = static_cast<std::uint64_t>(secs - days * 86'400);
  const CivilDate date = civil_from_days(days);

  std::string out;
  out.reserve(28);
  if (date.year < 0) {
    out.push_back('-');
  }
  append_padded(out, static_cast<std::uint64_t>(date.year < 0 ? -date.year : date.year), 4);
  out.push_back('-');
  append_padded(out, date.month, 2);
  out.push_back('-');
  append_padded(out, date.day, 2);
  out.push_back('T');
  append_padded(out, second_of_day / 3600, 2);
  out.push_back(':');
  append_padded(out, second_of_day / 60 % 60, 2);
  out.push_back(':');
  append_padded(out, second_of_day % 60, 2);
  out.push_back('.');
  append_padded(out, micros, 6);
  out.push_back('Z');
  return out;
}

Result<std::int64_t>
parse_time_us(std::string_view text)
{
  const auto bad = [&] {
    return error(fmt::format("invalid time '{}'", util::utf8_replace_invalid(text)),
                 "use RFC 3339, e.g. 2026-11-26T06:45:27Z");
  };
  std::size_t pos = 0;
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!read_digits(text, pos, 4, year) || !expect_char(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !expect_char(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return bad();
  }
  // RFC 3339 allows 't' and (in its note) a space for 'T'.
  if (!expect_char(text, pos, 'T') && !expect_char(text, pos, 't') &&
      !expect_char(text, pos, ' ')) {
    return bad();
  }
  if (!read_digits(text, pos, 2, hour) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  std::int64_t micros = 0;
  if (expect_char(text, pos, '.')) {
    std::size_t digits = 0;
    std::int64_t scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) {
        return bad();
      }
      // Digits past the sixth are below our resolution: truncate, don't round, so
      // a time never moves into the next microsecond.
      micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (digits == 0) {
      return bad();
    }
  }
  std::int64_t offset_s = 0;
  if (expect_char(text, pos, 'Z') || expect_char(text, pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    unsigned off_h = 0;
    unsigned off_m = 0;
    if (!read_digits(text, pos, 2, off_h) || !expect_char(text, pos, ':') ||
        !read_digits(text, pos, 2, off_m) || off_h > 23 || off_m > 59) {
      return bad();
    }
    offset_s = sign * static_cast<std::int64_t>(off_h * 3600 + off_m * 60);
  } else {
    return bad();
  }
  if (pos != text.size()) {
    return bad();
  }
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t secs =
      days * 86'400 + static_cast<std::int64_t>(hour * 3600 + minute * 60 + second) - offset_s;
  return secs * 1'000'000 + micros;
}

} // namespace rag::core
