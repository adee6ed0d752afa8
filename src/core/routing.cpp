#include "core/routing.hpp"

#include "util/text.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace rag::core {

namespace {

bool
header_matches(const RouteRule::HeaderMatch& match, const Headers& headers)
{
  return match.any_value ? has_header(headers, match.name)
                         : has_header_value(headers, match.name, match.value);
}

} // namespace

bool
rule_matches(const RouteRule& rule, std::string_view method, std::string_view target,
             const Headers& headers)
{
  if (!rule.method.empty() && !util::iequals(rule.method, method)) {
    return false;
  }
  if (!rule.path_prefix.empty() && !route_matches(rule.path_prefix, target)) {
    return false;
  }
  if (!rule.path_glob.empty()) {
    const std::string path(split_path_query(target).path);
    if (::fnmatch(rule.path_glob.c_str(), path.c_str(), 0) != 0) {
      return false;
    }
  }
  return std::all_of(
      rule.headers.begin(), rule.headers.end(),
      [&](const RouteRule::HeaderMatch& match) { return header_matches(match, headers); });
}

RoutingDecision
route_request(const RoutingTable& table, std::string_view method, std::string_view target,
              const Headers& headers)
{
  RoutingDecision decision;
  auto add = [&](const Target& t, const std::string& strip) {
    const bool seen = std::any_of(decision.destinations.begin(), decision.destinations.end(),
                                  [&](const Destination& d) { return d.target.url == t.url; });
    if (!seen) {
      decision.destinations.push_back(Destination{t, strip});
    }
  };
  for (const auto& t : table.forward_to) {
    add(t, {});
  }
  for (const auto& rule : table.routes) {
    if (!rule_matches(rule, method, target, headers)) {
      continue;
    }
    for (const auto& t : rule.targets) {
      add(t, rule.strip_prefix ? rule.path_prefix : std::string());
    }
    decision.verify.insert(decision.verify.end(), rule.verify.begin(), rule.verify.end());
    if (rule.respond && !decision.respond) {
      decision.respond = rule.respond;
    }
  }
  return decision;
}

} // namespace rag::core
