#pragma once

// The log's time format: RFC 3339 in UTC with microseconds.

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace rag::core {

// Format microseconds since the epoch as RFC 3339 UTC with microseconds
// ("2026-11-26T06:45:27.123456Z").
std::string format_time_us(std::int64_t time_us);

// Parse an RFC 3339 time (with or without fraction, "Z" or +hh:mm offset).
Result<std::int64_t> parse_time_us(std::string_view text);

} // namespace rag::core
