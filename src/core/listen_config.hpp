#pragma once

// The `rag listen --config FILE` format: forwarding targets, routes that match on
// path prefix or glob, method and headers, and the response policy, read from a
// JSON file (docs/config.md). Pure parsing: the only I/O is reading the file (secrets
// come through the caller's SecretResolver).

#include "core/forward_plan.hpp"
#include "core/routing.hpp"
#include "core/signature.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// What a config file says; the listener combines it with its flags.
struct ListenConfig
{
  std::vector<Target> forward_to;       // every request goes to these, in order
  std::vector<RouteRule> routes;        // named "routes[N]" (0-based), in file order
  std::optional<RespondPolicy> respond; // the listener's policy, unless a flag overrides it
};

// Parse config text; `name` (usually the path) starts every error message, and
// `resolve` turns the SECRET of each "verify" spec into the secret (the command line
// passes cli::resolve_secret_arg, for env:NAME and file:PATH). Any problem is a
// one-line usage Error: "NAME:LINE:COLUMN: invalid JSON (reason)" for syntax,
// "NAME: PLACE: problem" (PLACE like "routes[1].to[0]") for the rest, with a "did you
// mean" hint for a misspelt key.
Result<ListenConfig> parse_listen_config(std::string_view text, std::string_view name,
                                         SecretResolver resolve = literal_secret);

// Read and parse the config file at `path` as parse_listen_config does; a file that
// cannot be read is a runtime Error naming the path and the system's reason.
Result<ListenConfig> load_listen_config(const std::string& path,
                                        SecretResolver resolve = literal_secret);

} // namespace rag::core
