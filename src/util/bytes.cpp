#include "util/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <fmt/core.h>
#include <openssl/evp.h>

namespace rag::util {

namespace {

constexpr char k_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Reverse table: 0..63 for alphabet characters, 64 for '=', 255 for anything else.
constexpr std::array<std::uint8_t, 256>
make_base64_reverse()
{
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) {
    entry = 255;
  }
  for (std::uint8_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(k_base64_alphabet[i])] = i;
  }
  table[static_cast<unsigned char>('=')] = 64;
  return table;
}

constexpr auto k_base64_reverse = make_base64_reverse();

constexpr char k_hex_digits[] = "0123456789abcdef";

// Fetched once: OpenSSL 3's implicit fetch in EVP_sha256() costs a provider lookup
// per call, which shows on the capture hot path.
const EVP_MD*
sha256_md()
{
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched) : EVP_sha256();
  }();
  return md;
}

// Return the length of the well-formed UTF-8 sequence starting at `p` (1..4), or 0
// when it is not well-formed (overlong, surrogate, above U+10FFFF, truncated).
std::size_t
utf8_sequence_length(const unsigned char* p, const unsigned char* end)
{
  const unsigned char c = *p;
  if (c < 0x80) {
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3;
    lo = 0xA0; // no overlongs
  } else if (c >= 0xE1 && c <= 0xEC) {
    len = 3;
  } else if (c == 0xED) {
    len = 3;
    hi = 0x9F; // no UTF-16 surrogates
  } else if (c >= 0xEE && c <= 0xEF) {
    len = 3;
  } else if (c == 0xF0) {
    len = 4;
    lo = 0x90; // no overlongs
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4;
    hi = 0x8F; // nothing above U+10FFFF
  } else {
    return 0; // continuation byte, overlong C0/C1, or F5..FF
  }
  if (static_cast<std::size_t>(end - p) < len) {
    return 0;
  }
  if (p[1] < lo || p[1] > hi) {
    return 0;
  }
  for (std::size_t i = 2; i < len; ++i) {
    if (p[i] < 0x80 || p[i] > 0xBF) {
      return 0;
    }
  }
  return len;
}

} // namespace

std::string
base64_encode(std::string_view bytes)
{
  // Hand-written rather than EVP_EncodeBlock: that takes an int length and would
  // need chunking for bodies over 2 GiB; this loop is as fast for our sizes.
  std::string out;
  out.resize((bytes.size() + 2) / 3 * 4);
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t full = bytes.size() / 3 * 3;
  char* dst = out.data();
  for (std::size_t i = 0; i < full; i += 3) {
    const std::uint32_t n =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | std::uint32_t{in[i + 2]};
    *dst++ = k_base64_alphabet[(n >> 18) & 63];
    *dst++ = k_base64_alphabet[(n >> 12) & 63];
    *dst++ = k_base64_alphabet[(n >> 6) & 63];
    *dst++ = k_base64_alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - full;
  if (rest == 1) {
    const std::uint32_t n = std::uint32_t{in[full]} << 16;
    *dst++ = k_base64_alphabet[(n >> 18) & 63];
    *dst++ = k_base64_alphabet[(n >> 12) & 63];
    *dst++ = '=';
    *dst++ = '=';
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{in[full]} << 16) | (std::uint32_t{in[full + 1]} << 8);
    *dst++ = k_base64_alphabet[(n >> 18) & 63];
    *dst++ = k_base64_alphabet[(n >> 12) & 63];
    *dst++ = k_base64_alphabet[(n >> 6) & 63];
    *dst++ = '=';
  }
  return out;
}

Result<std::string>
base64_decode(std::string_view text)
{
  // Hand-written: EVP_DecodeBlock skips whitespace, needs a multiple of 4 and counts
  // '=' as data bytes (contributing.md, OpenSSL); we want strict input with optional padding.
  std::size_t data_len = text.size();
  while (data_len > 0 && text[data_len - 1] == '=') {
    --data_len;
  }
  const std::size_t pad = text.size() - data_len;
  if (pad > 2 || (pad > 0 && text.size() % 4 != 0)) {
    return error("invalid base64: bad padding");
  }
  if (data_len % 4 == 1) {
    return error("invalid base64: truncated input");
  }

  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < data_len; ++i) {
    const std::uint8_t v = k_base64_reverse[static_cast<unsigned char>(text[i])];
    if (v >= 64) {
      return error(fmt::format("invalid base64: unexpected character at offset {}", i));
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, otherwise two different texts would decode to the
  // same bytes and a corrupted line could slip through.
  if (bits > 0 && (acc & ((1U << bits) - 1)) != 0) {
    return error("invalid base64: non-zero trailing bits");
  }
  return out;
}

std::string
sha256_hex(std::string_view bytes)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &digest_len, sha256_md(), nullptr) != 1) {
    // Only fails on allocation failure inside OpenSSL; an impossible digest makes
    // every later comparison fail loudly instead of crashing here.
    return std::string(64, '?');
  }
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), digest_len));
}

bool
is_valid_utf8(std::string_view bytes)
{
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    // Fast path: webhook bodies are mostly ASCII, so skip 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) != 0) {
        break;
      }
      p += 8;
    }
    if (p >= end) {
      break;
    }
    const std::size_t len = utf8_sequence_length(p, end);
    if (len == 0) {
      return false;
    }
    p += len;
  }
  return true;
}

std::string
utf8_replace_invalid(std::string_view bytes)
{
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    const std::size_t len = utf8_sequence_length(p, end);
    if (len == 0) {
      out.append("\xEF\xBF\xBD"); // U+FFFD REPLACEMENT CHARACTER
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), len);
      p += len;
    }
  }
  return out;
}

std::string
hex_encode(std::string_view bytes)
{
  std::string out;
  out.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = k_hex_digits[c >> 4];
    out[2 * i + 1] = k_hex_digits[c & 0x0F];
  }
  return out;
}

} // namespace rag::util
