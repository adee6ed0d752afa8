#include "core/clock.hpp"

#include <chrono>

namespace rag::core {

std::int64_t
SystemClock::now_us()
{
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
}

} // namespace rag::core
