#pragma once

// How rag delivers to targets: the settings listen, tunnel and replay share, chosen once
// (cli) and carried by value from the options of a command to the Fanout.

#include <chrono>

namespace rag::engine {

// The delivery settings of `--timeout`, `--retry`, `--ordered`, `--insecure` and
// `--preserve-host`.
struct DeliveryPolicy
{
  std::chrono::milliseconds timeout{30'000}; // per attempt, connect included
  int retries = 0;                           // extra attempts after a retryable failure
  bool ordered = false;                      // one delivery in flight per target, in order
  bool insecure = false;                     // accept self-signed certificates of https targets
  bool preserve_host = false;                // forward the sender's Host, not the target's
};

} // namespace rag::engine
