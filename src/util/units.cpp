#include "util/units.hpp"

#include "util/text.hpp"

#include <fmt/core.h>

#include <charconv>
#include <limits>
#include <string>

namespace rag::util {

Result<std::uint64_t>
parse_byte_size(std::string_view text)
{
  auto bad = [&] {
    return usage_error(fmt::format("invalid size '{}'", text),
                       "use a number with an optional unit, e.g. 512KiB, 25MiB, 1GB");
  };
  std::uint64_t number = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr == begin) {
    return bad();
  }
  const std::string unit = to_lower(std::string_view(ptr, static_cast<std::size_t>(end - ptr)));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kib") {
    multiplier = 1ULL << 10;
  } else if (unit == "m" || unit == "mib") {
    multiplier = 1ULL << 20;
  } else if (unit == "g" || unit == "gib") {
    multiplier = 1ULL << 30;
  } else if (unit == "kb") {
    multiplier = 1000;
  } else if (unit == "mb") {
    multiplier = 1000 * 1000;
  } else if (unit == "gb") {
    multiplier = 1000 * 1000 * 1000;
  } else {
    return bad();
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    return bad();
  }
  return number * multiplier;
}

} // namespace rag::util
