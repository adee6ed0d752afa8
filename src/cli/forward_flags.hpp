#pragma once

// The forwarding flags `rag listen` and `rag tunnel` share (-f, --route, --config,
// --timeout, --retry, --verify, --reject-invalid, --ordered, --insecure,
// --preserve-host, and --respond for listen): one definition, one validation. Also the
// one validation of a number of events (--last of inspect, replay and export, --keep of
// log prune).

#include "core/forward_plan.hpp"
#include "core/routing.hpp"
#include "core/signature.hpp"
#include "engine/capture_pipeline.hpp"
#include "util/result.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace rag::cli {

// The shared flags as typed on the command line.
struct ForwardFlags
{
  std::vector<std::string> forward_to;
  std::vector<std::string> routes;
  std::string config;
  std::vector<std::string> verify;
  bool reject_invalid = false;
  std::string respond;
  std::string timeout = "30s";
  int retry = 0;
  bool ordered = false;
  bool insecure = false;
  bool preserve_host = false;
};

// Which command the flags are added to (their help texts differ a little).
enum class ForwardCommand { listen, tunnel };

// Add the shared flags to `sub` in their help order, storing into `flags`; --respond
// only for listen.
void add_forward_flags(CLI::App& sub, ForwardFlags& flags, ForwardCommand command);

// Validate `flags` into the pipeline options they set (routing, respond, delivery,
// verify, reject_invalid; json and color are the caller's): parse every target, route
// and signature spec, load --config (its targets and routes after the flags'), check
// --timeout and that --reject-invalid has a signature to check. Mistakes are usage
// Errors; an unreadable config is an Error.
Result<engine::PipelineOptions> parse_forward_flags(const ForwardFlags& flags);

// Return the delivery timeout `text` gives for --timeout (a duration such as "30s", at
// least 1ms); anything else is a usage Error naming it.
Result<std::chrono::milliseconds> parse_timeout_flag(std::string_view text);

// Return the number of events `text` gives for `flag` (--last, --keep): a whole number,
// at least `min` (a huge one counts as the largest there is). Anything else ("abc",
// "1.5", "-1", less than `min`) is the usage Error "FLAG needs a number of events, MIN
// or more". Commands take such flags as text and call this, so that a mistake is one
// clear line rather than CLI11's conversion or range message.
Result<long long> parse_event_count(std::string_view flag, std::string_view text, long long min);

} // namespace rag::cli
