#pragma once

#include "core/routing.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rag::commands {

struct ListenOptions
{
  std::string log_path; // resolved (never empty)
  std::string host = "127.0.0.1";
  int port = 7777;
  core::RoutingTable routing;                 // --forward-to, --route and --config
  std::optional<core::RespondPolicy> respond; // --respond, else the config file's
  std::chrono::milliseconds timeout{30'000};  // per delivery attempt
  int retries = 0;
  bool ordered = false;
  bool insecure = false;
  bool preserve_host = false;
  std::vector<core::SignatureSpec> verify; // --verify, for requests no route verifies
  bool reject_invalid = false;             // answer 401 to a request that fails them
  std::size_t max_body = 25 * 1024 * 1024;
  bool json = false;
};

// Capture requests into the log and forward them until SIGINT/SIGTERM, writing the
// banner and diagnostics to `console`; returns the exit code.
Result<int> run_listen(const ListenOptions& options, engine::Console& console);

} // namespace rag::commands
