#pragma once

#include "core/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace rag::test {

// A clock that stands still until the test moves it (StepClock in log_fixture.hpp
// moves by itself on every reading).
class ManualClock final : public core::Clock
{
public:
  explicit ManualClock(std::int64_t start_us = 1'700'000'000'000'000) : m_now(start_us) {}
  std::int64_t now_us() override { return m_now.load(); }
  // Move the clock forward by `by`.
  void advance(std::chrono::microseconds by) { m_now += by.count(); }
  // Set the clock to `time_us`.
  void set(std::int64_t time_us) { m_now = time_us; }

private:
  std::atomic<std::int64_t> m_now;
};

} // namespace rag::test
