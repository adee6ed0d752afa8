#pragma once

#include "engine/console.hpp"
#include "engine/relay_hub.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace rag::commands {

inline constexpr int k_relay_default_port = 3300;

struct RelayOptions
{
  std::string host = "127.0.0.1";
  int port = k_relay_default_port;
  std::string public_url; // base URL channels are announced under; empty = the bound URL
  std::string token;      // when set, subscribing, the channel page and replies need it
  engine::RelayHubOptions backlog;
  std::size_t max_body = 25 * 1024 * 1024;
  std::size_t max_header = 64 * 1024;
  std::chrono::milliseconds sync_timeout{0}; // > 0: hold senders until a tunnel replies
  std::chrono::milliseconds heartbeat{15'000};
  int write_timeout_s = 30; // a subscriber that takes no bytes this long is dropped
  bool json = false;        // one JSON line per published webhook on stdout
};

// Serve relay channels (docs/relay-protocol.md) until SIGINT/SIGTERM; returns the
// exit code. A bad address or a busy port is an Error before anything is served.
Result<int> run_relay(const RelayOptions& options, engine::Console& console);

} // namespace rag::commands
