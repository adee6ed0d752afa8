#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rag::util {

// The hash functions HMAC is offered with.
enum class HashAlgorithm { sha1, sha256, sha512 };

// Return the digest size in bytes of `algorithm` (20, 32, 64).
std::size_t digest_size(HashAlgorithm algorithm);

// Return the name of `algorithm` as written on the command line ("sha1", "sha256", "sha512").
std::string_view algorithm_name(HashAlgorithm algorithm);

// Return the raw (binary) HMAC of `message` under `key` (any length, empty included).
std::string hmac(HashAlgorithm algorithm, std::string_view key, std::string_view message);

// Return the raw HMAC-SHA256 of `message` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view message);

// Return true when `a` and `b` hold the same bytes, in time that depends only on
// their lengths (for comparing signatures without leaking where they differ).
bool constant_time_equals(std::string_view a, std::string_view b);

} // namespace rag::util
