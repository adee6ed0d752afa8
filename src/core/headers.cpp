#include "core/headers.hpp"

#include "core/http_syntax.hpp"

#include <algorithm>

namespace rag::core {

const std::string*
find_header(const Headers& headers, std::string_view name)
{
  const auto it = std::find_if(headers.begin(), headers.end(), header_named(name));
  return it == headers.end() ? nullptr : &it->second;
}

bool
has_header(const Headers& headers, std::string_view name)
{
  return std::any_of(headers.begin(), headers.end(), header_named(name));
}

bool
has_header_value(const Headers& headers, std::string_view name, std::string_view value)
{
  return std::any_of(headers.begin(), headers.end(), [&](const Header& header) {
    return util::iequals(header.first, name) && header.second == value;
  });
}

std::string
header_values(const Headers& headers, std::string_view name)
{
  std::string joined;
  for (const auto& [key, value] : headers) {
    if (util::iequals(key, name)) {
      joined += joined.empty() ? value : ", " + value;
    }
  }
  return joined;
}

void
set_header(Headers& headers, std::string_view name, std::string value)
{
  bool done = false;
  for (auto it = headers.begin(); it != headers.end();) {
    if (!util::iequals(it->first, name)) {
      ++it;
    } else if (!done) {
      it->second = value;
      done = true;
      ++it;
    } else {
      it = headers.erase(it);
    }
  }
  if (!done) {
    headers.emplace_back(std::string(name), std::move(value));
  }
}

std::vector<std::string>
connection_options(const Headers& headers)
{
  std::vector<std::string> options;
  for (const auto& [name, value] : headers) {
    if (util::iequals(name, "connection")) {
      http::for_each_element(
          value, [&](std::string_view option) { options.push_back(util::to_lower(option)); });
    }
  }
  return options;
}

} // namespace rag::core
