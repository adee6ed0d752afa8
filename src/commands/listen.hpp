#pragma once

#include "engine/capture_pipeline.hpp"
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
  // Routes and targets (--forward-to, --route, --config), --respond, delivery,
  // verification and --json; `color` is the Console's.
  engine::PipelineOptions pipeline;
  std::size_t max_body = 25 * 1024 * 1024;
};

// Capture requests into the log and forward them until SIGINT/SIGTERM, writing the
// banner and diagnostics to `console`; returns the exit code.
Result<int> run_listen(const ListenOptions& options, engine::Console& console);

} // namespace rag::commands
