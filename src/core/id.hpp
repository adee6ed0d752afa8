#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace rag::core {

// Produces time-sortable ids: prefix + 11 Crockford base32 chars of the time in
// microseconds + 15 random chars. Ids from one source strictly increase.
class IdSource
{
public:
  virtual ~IdSource() = default;
  // Return a new id "<prefix>_<26 chars>" for the given capture time.
  virtual std::string next(std::string_view prefix, std::int64_t time_us) = 0;
};

// Real ids: random part from the OS, strictly increasing within the process even
// when the clock stands still or steps back.
class RandomIdSource final : public IdSource
{
public:
  std::string next(std::string_view prefix, std::int64_t time_us) override;

private:
  std::mutex m_mutex;
  std::int64_t m_last_us = 0;
  // Random bytes fetched from the kernel a block at a time, not one call per id.
  unsigned char m_pool[1024] = {};
  std::size_t m_pool_used = sizeof(m_pool);
};

// Number of characters of an id (after "evt_") shown in tables.
inline constexpr std::size_t k_short_id_chars = 14;

// Return the short form shown in tables: the prefix and the first k_short_id_chars.
std::string short_id(std::string_view id);

// Return the time encoded in an id, or -1 when the id is malformed.
std::int64_t id_time_us(std::string_view id);

} // namespace rag::core
