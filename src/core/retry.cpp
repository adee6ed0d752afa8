#include "core/retry.hpp"

#include "util/text.hpp"

#include <algorithm>
#include <charconv>

namespace rag::core {

bool
is_retryable_status(int status)
{
  return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

std::chrono::milliseconds
backoff_delay(int retry, double random01, const Headers& response_headers,
              std::chrono::milliseconds base, std::chrono::milliseconds cap)
{
  for (const auto& [name, value] : response_headers) {
    if (!util::iequals(name, "Retry-After")) {
      continue;
    }
    long long seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && ptr == value.data() + value.size() && seconds >= 0 &&
        std::chrono::seconds(seconds) <= cap) {
      return std::chrono::seconds(seconds);
    }
  }
  const int shift = std::clamp(retry - 1, 0, 20);
  const auto ceiling = std::min<long long>(cap.count(), base.count() << shift);
  // Full jitter, but never less than half the step so retries do not hammer.
  const double factor = 0.5 + 0.5 * std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(ceiling) * factor));
}

} // namespace rag::core
