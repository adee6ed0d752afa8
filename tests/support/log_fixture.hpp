#pragma once

#include "core/clock.hpp"
#include "core/record.hpp"
#include "core/record_json.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace rag::test {

// An event log path in a fresh temp directory, and what was written to it.
struct TempLog
{
  TempDir dir;
  std::string path = dir.file("events.jsonl");

  // Return the delivery records in the log, in file order.
  std::vector<core::Delivery> deliveries() const
  {
    std::vector<core::Delivery> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      auto record = core::parse_record(line);
      REQUIRE(record.ok());
      if (auto* d = std::get_if<core::Delivery>(&*record)) {
        out.push_back(*d);
      }
    }
    return out;
  }
};

// A clock that moves 1 ms forward on every reading.
class StepClock final : public core::Clock
{
public:
  std::int64_t now_us() override { return m_now.fetch_add(1000); }

private:
  std::atomic<std::int64_t> m_now{1'700'000'000'000'000};
};

} // namespace rag::test
