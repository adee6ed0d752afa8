#pragma once

// RFC 3339 timestamps on std::chrono's civil calendar (C++20), microsecond resolution.
// Knows nothing about webhooks; core's record format and the samples use it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rag::util {

// Format microseconds since the Unix epoch as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC);
// `fraction` false leaves out ".ffffff". Years outside 0000..9999 still format
// (with a sign or more digits); times beyond std::chrono's years (±32767) clamp to them.
std::string format_rfc3339_us(std::int64_t time_us, bool fraction = true);

// Parse an RFC 3339 date-time ("2026-11-26T06:45:27.123Z", 't' or ' ' for 'T', 'z' for
// 'Z', an offset "+02:00", up to nine fraction digits truncated to microseconds, a leap
// second 60) into microseconds since the Unix epoch; nullopt when it is not one.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view text);

} // namespace rag::util
