#include "core/log/record_time.hpp"

#include "util/bytes.hpp"
#include "util/time.hpp"

#include <fmt/core.h>

#include <optional>

namespace rag::core {

std::string
format_time_us(std::int64_t time_us)
{
  return util::format_rfc3339_us(time_us);
}

Result<std::int64_t>
parse_time_us(std::string_view text)
{
  if (const std::optional<std::int64_t> time_us = util::parse_rfc3339_us(text)) {
    return *time_us;
  }
  return error(fmt::format("invalid time '{}'", util::utf8_replace_invalid(text)),
               "use RFC 3339, e.g. 2026-11-26T06:45:27Z");
}

} // namespace rag::core
