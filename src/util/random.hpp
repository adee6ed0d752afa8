#pragma once

// Random bytes for ids, channel names and tokens: the kernel's CSPRNG.

#include <cstddef>

namespace rag::util {

// Fill `out` with `len` cryptographically random bytes (getrandom(2), OpenSSL's generator
// where the kernel has none).
void fill_random(unsigned char* out, std::size_t len);

} // namespace rag::util
