#pragma once

// The record writer: events and deliveries as log lines (docs/event-log.md), built by
// hand with the fields in their documented order.

#include "core/record.hpp"

#include <string>
#include <string_view>

namespace rag::core {

// Serialise an event as one log line (no trailing newline); field order is fixed.
std::string to_json_line(const Event& event);

// Serialise a delivery as one log line (no trailing newline); field order is fixed.
std::string to_json_line(const Delivery& delivery);

// Return `text` as the inside of a JSON string (quotes not included); invalid
// UTF-8 becomes U+FFFD so the result is always valid JSON.
std::string json_escape(std::string_view text);

} // namespace rag::core
