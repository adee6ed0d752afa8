#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rag::core {

// A set of record ids kept compactly: an id of up to 31 bytes costs one hash-set
// node with no allocation of its own (about 60 bytes), longer ids a std::string.
class IdSet
{
public:
  // Add `id`; return false when it was in the set already.
  bool insert(std::string_view id);

  // Return true when `id` is in the set.
  bool contains(std::string_view id) const;

  // Return the number of ids in the set.
  std::size_t size() const { return m_short.size() + m_long.size(); }

private:
  using Key = std::array<char, 32>; // the id zero-padded; the last byte holds its length
  struct KeyHash
  {
    std::size_t operator()(const Key& key) const;
  };
  static std::optional<Key> make_key(std::string_view id);
  std::unordered_set<Key, KeyHash> m_short;
  std::unordered_set<std::string> m_long;
};

} // namespace rag::core
