#pragma once

#include "core/record.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace rag::core {

// Serialise an event as one log line (no trailing newline); field order is fixed.
std::string to_json_line(const Event& event);

// Serialise a delivery as one log line (no trailing newline); field order is fixed.
std::string to_json_line(const Delivery& delivery);

// Parse one log line into a record; a line that is not a valid record is an Error
// whose message names the reason (the caller adds the line number).
Result<Record> parse_record(std::string_view line);

// Return `text` as the inside of a JSON string (quotes not included); invalid
// UTF-8 becomes U+FFFD so the result is always valid JSON.
std::string json_escape(std::string_view text);

// Return the value of the first "id" field of a raw log line without parsing it (the
// record's own id: to_json_line writes it before any nested data), or an empty view.
std::string_view raw_record_id(std::string_view line);

// Format microseconds since the epoch as RFC 3339 UTC with microseconds
// ("2026-11-26T06:45:27.123456Z").
std::string format_time_us(std::int64_t time_us);

// Parse an RFC 3339 time (with or without fraction, "Z" or +hh:mm offset).
Result<std::int64_t> parse_time_us(std::string_view text);

} // namespace rag::core
