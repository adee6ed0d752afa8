#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace rag::core {

// Parse a duration made of whole numbers with units ("500ms", "30s", "10m", "2h",
// "7d", "1w", "1h30m") into microseconds; a missing or unknown unit is a usage Error.
Result<std::int64_t> parse_duration_us(std::string_view text);

// Format a duration for people: "850µs", "12ms", "1.25s", "2m05s", "3h07m".
std::string format_duration_us(std::int64_t duration_us);

// Parse a point in time: an age before `now_us` ("10m", "2h", "7d"), an RFC 3339
// time ("2026-11-26T06:45:27Z"), a local date or date and time ("2026-11-26",
// "2026-11-26 14:30", "2026-11-26T14:30:05") or a local time of today ("14:30",
// "14:30:05"); anything else is a usage Error.
Result<std::int64_t> parse_time_spec(std::string_view text, std::int64_t now_us);

} // namespace rag::core
