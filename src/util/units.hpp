#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string_view>

namespace rag::util {

// Parse a byte size such as "1024", "512KiB", "25MiB", "1GB", "10k" (k/M/G are
// binary multiples, KB/MB/GB decimal); anything else is a usage Error.
Result<std::uint64_t> parse_byte_size(std::string_view text);

} // namespace rag::util
