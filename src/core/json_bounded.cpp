#include "core/json_bounded.hpp"

#include "core/json_fields.hpp"

#include <cstring>

namespace rag::core {

namespace {

// Return the position just past the string whose opening quote is at `open - 1`, or
// `end` when it does not end. A quote is escaped when an odd number of backslashes
// precedes it; memchr finds the candidates, so long strings (base64 bodies in log
// lines) cost about what a copy costs.
const char*
skip_string(const char* open, const char* end)
{
  const char* p = open;
  while (p < end) {
    const void* found = std::memchr(p, '"', static_cast<std::size_t>(end - p));
    if (found == nullptr) {
      return end;
    }
    const char* quote = static_cast<const char*>(found);
    std::size_t backslashes = 0;
    for (const char* b = quote; b > open && b[-1] == '\\'; --b) {
      ++backslashes;
    }
    if (backslashes % 2 == 0) {
      return quote + 1;
    }
    p = quote + 1;
  }
  return end;
}

} // namespace

bool
json_depth_within(std::string_view text, std::size_t max_depth)
{
  // Each level takes at least one byte.
  if (text.size() <= max_depth) {
    return true;
  }
  std::size_t depth = 0;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    switch (*p++) {
    case '"': p = skip_string(p, end); break;
    case '[':
    case '{':
      if (++depth > max_depth) {
        return false;
      }
      break;
    case ']':
    case '}':
      // Unbalanced input is not JSON; the parser says so, this only bounds depth.
      if (depth > 0) {
        --depth;
      }
      break;
    default: break;
    }
  }
  return true;
}

bool
json_accept_bounded(std::string_view text, std::size_t max_depth)
{
  return json_depth_within(text, max_depth) && nlohmann::json::accept(text.begin(), text.end());
}

std::optional<std::map<std::string, std::string>>
json_string_fields(std::string_view text)
{
  const auto object = parse_json_bounded<nlohmann::json>(text);
  if (!object.is_object()) {
    return std::nullopt;
  }
  std::map<std::string, std::string> fields;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      fields.emplace(key, value.get<std::string>());
    }
  }
  return fields;
}

} // namespace rag::core
