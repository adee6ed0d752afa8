#include "core/id.hpp"

#include "util/random.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rag::core {

namespace {

constexpr char k_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t k_time_chars = 11;   // 55 bits: microseconds until year ~3111
constexpr std::size_t k_random_chars = 15; // 75 bits
constexpr std::size_t k_id_chars = k_time_chars + k_random_chars;

// Return the value of a Crockford base32 digit (either case), or -1.
int
crockford_value(char c)
{
  if (c >= 'a' && c <= 'z') {
    c = static_cast<char>(c - 'a' + 'A');
  }
  for (int i = 0; i < 32; ++i) {
    if (k_crockford[i] == c) {
      return i;
    }
  }
  return -1;
}

} // namespace

std::string
RandomIdSource::next(std::string_view prefix, std::int64_t time_us)
{
  std::uint64_t t = 0;
  unsigned char random[10];
  {
    std::lock_guard lock(m_mutex);
    // Time part strictly increases so that ids from one source sort in creation
    // order even when the clock stands still or steps back.
    if (time_us <= m_last_us) {
      time_us = m_last_us + 1;
    }
    m_last_us = time_us;
    t = static_cast<std::uint64_t>(time_us);
    if (m_pool_used + sizeof(random) > sizeof(m_pool)) {
      util::fill_random(m_pool, sizeof(m_pool));
      m_pool_used = 0;
    }
    std::memcpy(random, m_pool + m_pool_used, sizeof(random));
    m_pool_used += sizeof(random);
  }

  std::string id;
  id.reserve(prefix.size() + 1 + k_id_chars);
  id.append(prefix);
  if (prefix.empty() || prefix.back() != '_') {
    id.push_back('_');
  }
  for (std::size_t i = 0; i < k_time_chars; ++i) {
    const auto shift = 5 * (k_time_chars - 1 - i);
    id.push_back(k_crockford[(t >> shift) & 31]);
  }
  // 80 random bits; the first 75 become 15 digits.
  std::uint64_t hi = 0;
  for (int i = 0; i < 8; ++i) {
    hi = (hi << 8) | random[i];
  }
  const std::uint64_t lo = (std::uint64_t{random[8]} << 8) | random[9];
  for (std::size_t i = 0; i < k_random_chars; ++i) {
    const std::size_t bit = 5 * i; // bit offset from the top of the 80-bit number
    std::uint64_t digit = 0;
    if (bit + 5 <= 64) {
      digit = (hi >> (64 - bit - 5)) & 31;
    } else if (bit >= 64) {
      digit = (lo >> (16 - (bit - 64) - 5)) & 31;
    } else {
      const std::size_t from_hi = 64 - bit;
      digit = ((hi & ((1ULL << from_hi) - 1)) << (5 - from_hi)) | (lo >> (16 - (5 - from_hi)));
    }
    id.push_back(k_crockford[digit & 31]);
  }
  return id;
}

std::string
short_id(std::string_view id)
{
  const auto underscore = id.find('_');
  const std::size_t start = underscore == std::string_view::npos ? 0 : underscore + 1;
  return std::string(id.substr(0, start + k_short_id_chars));
}

std::int64_t
id_time_us(std::string_view id)
{
  const auto underscore = id.find('_');
  if (underscore == std::string_view::npos) {
    return -1;
  }
  const auto body = id.substr(underscore + 1);
  if (body.size() != k_id_chars) {
    return -1;
  }
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const int v = crockford_value(body[i]);
    if (v < 0) {
      return -1;
    }
    if (i < k_time_chars) {
      t = (t << 5) | static_cast<std::uint64_t>(v);
    }
  }
  return static_cast<std::int64_t>(t);
}

} // namespace rag::core
