#include "core/header_override.hpp"

#include "core/forward_plan.hpp"
#include "core/http_syntax.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <iterator>
#include <vector>

namespace rag::core {

namespace {

constexpr const char* k_override_hint =
    "use --set-header NAME:VALUE, e.g. --set-header 'X-Env: dev'";

} // namespace

Result<Header>
parse_header_override(std::string_view spec)
{
  const std::size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return usage_error(fmt::format("invalid --set-header '{}': expected NAME:VALUE", spec),
                       k_override_hint);
  }
  const std::string_view name = spec.substr(0, colon);
  const std::string_view value = http::trim_ows(spec.substr(colon + 1));
  if (!http::is_token(name)) {
    return usage_error(
        fmt::format("invalid --set-header '{}': the name must be an HTTP token", spec),
        k_override_hint);
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return usage_error(
        fmt::format("invalid --set-header for {}: the value holds CR, LF or NUL", name));
  }
  if (util::iequals(name, "content-length") || is_hop_by_hop(name)) {
    return usage_error(fmt::format("--set-header cannot set {}", name),
                       "rag frames the body and manages connections itself");
  }
  return Header{std::string(name), std::string(value)};
}

Headers
apply_header_overrides(const Headers& headers, const Headers& overrides)
{
  if (overrides.empty()) {
    return headers;
  }
  const auto overridden = [&](const std::string& name) { return has_header(overrides, name); };
  const auto group_of = [&](const std::string& name) {
    Headers group;
    std::copy_if(overrides.begin(), overrides.end(), std::back_inserter(group), header_named(name));
    return group;
  };

  Headers out;
  out.reserve(headers.size() + overrides.size());
  std::vector<const std::string*> placed; // names of the groups already put in
  const auto already_placed = [&](const std::string& name) {
    return std::any_of(placed.begin(), placed.end(),
                       [&](const std::string* done) { return util::iequals(*done, name); });
  };
  for (const auto& header : headers) {
    if (!overridden(header.first)) {
      out.push_back(header);
      continue;
    }
    if (!already_placed(header.first)) {
      placed.push_back(&header.first);
      const Headers group = group_of(header.first);
      out.insert(out.end(), group.begin(), group.end());
    }
  }
  for (const auto& header : overrides) {
    if (!already_placed(header.first)) {
      placed.push_back(&header.first);
      const Headers group = group_of(header.first);
      out.insert(out.end(), group.begin(), group.end());
    }
  }
  return out;
}

} // namespace rag::core
