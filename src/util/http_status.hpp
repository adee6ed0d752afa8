#pragma once

#include <string_view>

namespace rag::util {

// Return the standard reason phrase of an HTTP status ("Not Found"), or "" when
// the status has none that rag knows.
std::string_view reason_phrase(int status);

} // namespace rag::util
