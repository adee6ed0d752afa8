#pragma once

#include <cstdint>

namespace rag::core {

// The source of wall-clock time; tests pass a fake one.
class Clock
{
public:
  virtual ~Clock() = default;
  // Return microseconds since the Unix epoch (UTC).
  virtual std::int64_t now_us() = 0;
};

// The real system clock.
class SystemClock final : public Clock
{
public:
  std::int64_t now_us() override;
};

} // namespace rag::core
