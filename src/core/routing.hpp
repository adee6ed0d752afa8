#pragma once

#include "core/forward_plan.hpp"
#include "core/record.hpp"
#include "core/signature.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// How the sender of a webhook is answered.
struct RespondPolicy
{
  // Answer with the primary target's status, headers and body (the default when
  // there is a target); when false, answer `status` at once and forward in the
  // background.
  bool primary = true;
  int status = 200;
};

// One routing rule: which requests it takes and where they go. All conditions
// that are set must hold (AND); an unset condition matches everything.
struct RouteRule
{
  std::string name;        // how errors and --help name it: "--route /github", "routes[2]"
  std::string path_prefix; // segment-boundary prefix of the path ("" = any)
  std::string path_glob;   // fnmatch glob on the path without query ("" = any)
  std::string method;      // case-insensitive ("" = any)
  // Header conditions: name (case-insensitive) and value; an empty `value` with
  // `any_value` set means "present with any value".
  struct HeaderMatch
  {
    std::string name;
    std::string value;
    bool any_value = false;
  };
  std::vector<HeaderMatch> headers;
  bool strip_prefix = true; // strip path_prefix when the target has no path
  std::vector<Target> targets;
  std::optional<RespondPolicy> respond; // overrides the listener's policy for this route
  std::vector<SignatureSpec> verify;    // signatures checked for this route's requests
};

// Everything that decides where a captured request goes.
struct RoutingTable
{
  std::vector<Target> forward_to; // every request goes to these (--forward-to)
  std::vector<RouteRule> routes;  // plus the targets of every matching route, in order
};

// One place an event is delivered to.
struct Destination
{
  Target target;
  std::string strip_prefix; // removed from the incoming path before mapping
};

// What routing decided for one request.
struct RoutingDecision
{
  std::vector<Destination> destinations; // primary first; duplicates removed
  std::optional<RespondPolicy> respond;  // from the first matching route that sets one
  std::vector<SignatureSpec> verify;     // of every matching route, in route order
};

// Return true when `rule` takes a request with this method, raw target and headers.
bool rule_matches(const RouteRule& rule, std::string_view method, std::string_view target,
                  const Headers& headers);

// Decide where a request goes: every --forward-to target, then the targets of each
// matching route in order; the first destination is the primary. A target URL that
// appears twice is delivered once.
RoutingDecision route_request(const RoutingTable& table, std::string_view method,
                              std::string_view target, const Headers& headers);

} // namespace rag::core
