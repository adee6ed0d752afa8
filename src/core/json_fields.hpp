#pragma once

// The string fields of a small JSON object rag did not write (a relay's `gap` event, the
// tunnel's state file), without a JSON document type in the caller. Implemented in
// json_bounded.cpp, with the bounded parse it uses.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rag::core {

// Return the top-level fields of the JSON object `text` whose values are strings (the
// others are left out); nullopt when `text` is not a JSON object or nests deeper than
// k_json_max_depth.
std::optional<std::map<std::string, std::string>> json_string_fields(std::string_view text);

} // namespace rag::core
