#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace rag::util {

// Encode bytes as standard base64 with padding.
std::string base64_encode(std::string_view bytes);

// Decode standard base64 (padding optional); invalid input is an Error.
Result<std::string> base64_decode(std::string_view text);

// Return the lower-case hex SHA-256 digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Return true when `bytes` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view bytes);

// Return `bytes` with every byte that does not start a well-formed UTF-8 sequence
// replaced by U+FFFD (lossy; for display and for fields that have no base64 form).
std::string utf8_replace_invalid(std::string_view bytes);

// Return `bytes` as lower-case hex.
std::string hex_encode(std::string_view bytes);

} // namespace rag::util
