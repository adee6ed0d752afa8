#include "core/log/id_set.hpp"

#include <cstring>
#include <functional>

namespace rag::core {

std::size_t
IdSet::KeyHash::operator()(const Key& key) const
{
  return std::hash<std::string_view>{}(
      std::string_view(key.data(), static_cast<unsigned char>(key.back())));
}

std::optional<IdSet::Key>
IdSet::make_key(std::string_view id)
{
  Key key{};
  if (id.size() >= key.size()) {
    return std::nullopt;
  }
  std::memcpy(key.data(), id.data(), id.size());
  key.back() = static_cast<char>(id.size());
  return key;
}

bool
IdSet::insert(std::string_view id)
{
  if (auto key = make_key(id)) {
    return m_short.insert(*key).second;
  }
  return m_long.emplace(id).second;
}

bool
IdSet::contains(std::string_view id) const
{
  if (auto key = make_key(id)) {
    return m_short.count(*key) != 0;
  }
  return m_long.count(std::string(id)) != 0;
}

} // namespace rag::core
