#pragma once

// The record parser: log lines back into events and deliveries, every field checked,
// so that a damaged or hand-edited line is an Error with a reason, never an exception.

#include "core/record.hpp"
#include "util/result.hpp"

#include <string_view>

namespace rag::core {

// Parse one log line into a record; a line that is not a valid record is an Error
// whose message names the reason (the caller adds the line number).
Result<Record> parse_record(std::string_view line);

// Return the value of the first "id" field of a raw log line without parsing it (the
// record's own id: to_json_line writes it before any nested data), or an empty view.
std::string_view raw_record_id(std::string_view line);

// Return true when a raw log line is certainly a delivery record (rag writes "kind"
// second, within the first 40 bytes), without parsing it.
bool raw_is_delivery(std::string_view line);

} // namespace rag::core
