#pragma once

// Small pieces of HTTP/1.x syntax (RFC 9110 / 9112) that the request parser, the
// response parser, the forward plan and the validators share.

#include "core/headers.hpp"
#include "util/text.hpp"

#include <array>
#include <cstddef>
#include <limits>
#include <string_view>

namespace rag::core::http {

// RFC 9110 tchar: the bytes allowed in a method or a header name.
constexpr std::array<bool, 256>
make_token_table()
{
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) {
    table[static_cast<std::size_t>(c)] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    table[static_cast<std::size_t>(c)] = true;
    table[static_cast<std::size_t>(c - 'a' + 'A')] = true;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}

inline constexpr std::array<bool, 256> k_token = make_token_table();

// Return true when `text` is a non-empty token (a valid method or header name); the one
// tchar check of rag, so that every parser and validator accepts the same names.
inline bool
is_token(std::string_view text)
{
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (!k_token[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

// Return true for optional whitespace: SP or HTAB.
inline bool
is_ows(char c)
{
  return c == ' ' || c == '\t';
}

// Return `text` without leading and trailing SP/HTAB. This is rag's one trim, and it is
// here rather than in util/text because every caller trims HTTP's optional whitespace
// (OWS, RFC 9110 §5.6.3) out of a header value or a piece of one (list elements, cookie
// pairs, signature parameters): SP and HTAB exactly, never CR, LF or other spaces.
inline std::string_view
trim_ows(std::string_view text)
{
  while (!text.empty() && is_ows(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ows(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// Return true when `text` equals the all-lower-case `lower`, ignoring ASCII case (the
// parsers' hot path: only one side is folded; util::iequals folds both).
inline bool
iequals(std::string_view text, std::string_view lower)
{
  if (text.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (util::ascii_lower(text[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

// Call `fn` with each trimmed, non-empty element of a comma-separated list (RFC 9110 §5.6.1).
template<typename Fn>
void
for_each_element(std::string_view list, Fn&& fn)
{
  util::for_each_piece(list, ',', [&](std::string_view piece) {
    const std::string_view element = trim_ows(piece);
    if (!element.empty()) {
      fn(element);
    }
  });
}

// Return the value of hex digit `c` (either case), or -1.
inline int
hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

enum class ChunkSize { ok, invalid, overflow };

// Parse a chunk-size line (RFC 9112 §7.1: hex digits, optional whitespace, then nothing
// or `;extensions`, which are ignored) into `size`.
inline ChunkSize
parse_chunk_size(std::string_view line, std::size_t& size)
{
  size = 0;
  std::size_t digits = 0;
  for (; digits < line.size(); ++digits) {
    const int value = hex_value(line[digits]);
    if (value < 0) {
      break;
    }
    if (size > (std::numeric_limits<std::size_t>::max() >> 4)) {
      return ChunkSize::overflow;
    }
    size = size * 16 + static_cast<std::size_t>(value);
  }
  const std::string_view rest = trim_ows(line.substr(digits));
  if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
    return ChunkSize::invalid;
  }
  return ChunkSize::ok;
}

// What the framing and connection headers of a message say (RFC 9112 §6), read the
// same way for requests and responses; each parser applies its own rules to it.
struct Framing
{
  bool has_length = false;       // a Content-Length value was read
  unsigned long long length = 0; // the last value read
  bool length_bad = false;       // a Content-Length that is empty or holds a non-digit
  bool length_conflict = false;  // Content-Length values that differ
  bool length_overflow = false;  // a value past the range of unsigned long long
  bool has_te = false;           // a Transfer-Encoding header is present
  int coding_count = 0;          // transfer codings listed, "chunked" ones included
  int chunked_count = 0;         // transfer codings named "chunked" (parameters ignored)
  bool chunked_last = false;     // the final transfer coding is "chunked"
  bool close = false;            // a Connection header lists "close"
  bool keep_alive = false;       // a Connection header lists "keep-alive"

  // Return true when Content-Length is not one readable value (bad, conflicting or too big).
  bool length_invalid() const { return length_bad || length_conflict || length_overflow; }
};

// Read Content-Length (a list of identical values counts as one, RFC 9110 §8.6),
// Transfer-Encoding and Connection from `headers`, names and tokens ASCII case ignored.
Framing read_framing(const Headers& headers);

// Return true when the connection stays open after the message: HTTP/1.1 unless
// "close", HTTP/1.0 only with "keep-alive" and without "close".
inline bool
keeps_alive(const Framing& framing, bool http11)
{
  return http11 ? !framing.close : (framing.keep_alive && !framing.close);
}

} // namespace rag::core::http
