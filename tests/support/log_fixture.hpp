#pragma once

#include "core/clock.hpp"
#include "core/log/record_parser.hpp"
#include "core/log/record_writer.hpp"
#include "core/record.hpp"
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

// Append `count` POST events to the log at `path`: the i-th has target "/hook/i", body
// {"n":i}, id evt_01KBJ2X7Q9R3M8TZ4D6PNWAH followed by 10+i, and a time 1 µs after the
// previous one.
inline void
append_events(const std::string& path, int count)
{
  std::ofstream out(path, std::ios::app);
  for (int i = 0; i < count; ++i) {
    core::Event event;
    event.id = "evt_01KBJ2X7Q9R3M8TZ4D6PNWAH" + std::to_string(10 + i);
    event.time_us = 1'700'000'000'000'000 + i;
    event.method = "POST";
    event.target = "/hook/" + std::to_string(i);
    event.http_version = "HTTP/1.1";
    event.body = "{\"n\":" + std::to_string(i) + "}";
    out << core::to_json_line(event) << '\n';
  }
}

// A clock that moves 1 ms forward on every reading.
class StepClock final : public core::Clock
{
public:
  std::int64_t now_us() override { return m_now.fetch_add(1000); }

private:
  std::atomic<std::int64_t> m_now{1'700'000'000'000'000};
};

} // namespace rag::test
