#pragma once

#include "engine/capture_pipeline.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <chrono>
#include <string>

namespace rag::commands {

// Options of `rag tunnel`, validated.
struct TunnelOptions
{
  std::string log_path;    // resolved (never empty)
  std::string channel_url; // checked with engine::parse_channel_url; empty: ask `relay_url`
  std::string relay_url = "https://smee.io";
  std::string token;
  // Routing, verification and delivery settings; `delivery.insecure` also accepts a
  // self-signed certificate of the relay.
  engine::PipelineOptions pipeline;
  bool respond_back = false;
  std::chrono::milliseconds read_timeout{90'000}; // a silent stream is reconnected after this
};

// Subscribe to the channel (creating one first when none is given) and capture and
// forward its webhooks until SIGINT/SIGTERM; returns the exit code.
Result<int> run_tunnel(const TunnelOptions& options, engine::Console& console);

} // namespace rag::commands
