#pragma once

#include "core/record.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace rag::core {

// Return true when a delivery that got HTTP `status` is worth retrying:
// 408, 425, 429 and every 5xx.
bool is_retryable_status(int status);

// Return how long to wait before retry number `retry` (1 for the first retry):
// exponential backoff (base × 2^(retry-1), capped) with full jitter, where
// `random01` is uniform in [0, 1). A Retry-After of at most `cap` seconds in
// `response_headers` (delta-seconds form) is honoured instead.
std::chrono::milliseconds
backoff_delay(int retry, double random01, const Headers& response_headers = {},
              std::chrono::milliseconds base = std::chrono::milliseconds(200),
              std::chrono::milliseconds cap = std::chrono::seconds(10));

} // namespace rag::core
