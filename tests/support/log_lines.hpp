#pragma once

// Helpers of the log package's tests: whole-file reads and writes, a warning collector,
// and varied event lines.

#include "core/log/reader.hpp"
#include "core/log/record_writer.hpp"
#include "core/record.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/core.h>

namespace rag::test {

// Return the bytes of the file at `path` (empty when it cannot be read).
inline std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Replace the file at `path` with `content`.
inline void
write_file(const std::string& path, std::string_view content)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  REQUIRE(out.good());
}

// Collects warnings given to a reader or writer.
struct Warnings
{
  std::vector<std::string> list;
  std::function<void(const std::string&)> fn()
  {
    return [this](const std::string& message) { list.push_back(message); };
  }
};

// Return an event with id `id` and body `body` (other fields fixed, the target names the id).
inline core::Event
make_event(const std::string& id, const std::string& body)
{
  core::Event e;
  e.id = id;
  e.time_us = 1795675527123456;
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:50000";
  e.method = "POST";
  e.target = "/hook?n=" + id;
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "x"}, {"Content-Type", "application/json"}, {"X-Empty", ""}};
  e.body = body;
  return e;
}

// Return the log line of the i-th test event: id evt_ and i in 26 digits; bodies vary
// with i (text, binary, empty, long).
inline std::string
event_line(int i)
{
  // Varied bodies: text, binary, empty, long.
  std::string body;
  switch (i % 4) {
  case 0: body = fmt::format("{{\"n\":{}}}", i); break;
  case 1: body = std::string("\0\xff\x01 bin", 7); break;
  case 2: break;
  default: body = std::string(static_cast<std::size_t>(100 + i), 'z'); break;
  }
  return core::to_json_line(make_event(fmt::format("evt_{:026}", i), body));
}

// Return the complete lines `reader` gives in file order from `start`; `end` gets the
// offset where a follower would resume.
inline std::vector<std::string>
lines_forward(const core::EventLogReader& reader, std::uint64_t* end = nullptr,
              std::uint64_t start = 0)
{
  std::vector<std::string> lines;
  auto result = reader.for_each_line(
      [&](const core::LogLine& line) {
        lines.emplace_back(line.text);
        return true;
      },
      start);
  REQUIRE(result.ok());
  if (end != nullptr) {
    *end = *result;
  }
  return lines;
}

// Return the complete lines `reader` gives newest first.
inline std::vector<std::string>
lines_reverse(const core::EventLogReader& reader)
{
  std::vector<std::string> lines;
  auto result = reader.for_each_line_reverse([&](const core::LogLine& line) {
    lines.emplace_back(line.text);
    return true;
  });
  REQUIRE(result.ok());
  return lines;
}

// Return the ids of the event records `reader` gives, in file order or newest first.
inline std::vector<std::string>
event_ids(const core::EventLogReader& reader, bool reverse,
          core::TornTail torn = core::TornTail::warn)
{
  std::vector<std::string> ids;
  const auto collect = [&](core::Record&& record, const core::LogLine&) {
    ids.push_back(std::get<core::Event>(record).id);
    return true;
  };
  if (reverse) {
    REQUIRE(reader.for_each_record_reverse(collect, {}, torn).ok());
  } else {
    REQUIRE(reader.for_each_record(collect, {}, 0, torn).ok());
  }
  return ids;
}

// Return the id of test event `n`: evt_ and n in 26 digits.
inline std::string
event_id(int n)
{
  return fmt::format("evt_{:026}", n);
}

// Return test event `n` (body {"n":N}) with the given time, method and target.
inline core::Event
make_event(int n, std::int64_t time_us = 1'700'000'000'000'000, std::string method = "POST",
           std::string target = "/hook")
{
  core::Event event;
  event.id = event_id(n);
  event.time_us = time_us;
  event.source = "listen:127.0.0.1:7777";
  event.remote = "127.0.0.1:50000";
  event.method = std::move(method);
  event.target = std::move(target);
  event.http_version = "HTTP/1.1";
  event.headers = {{"Host", "127.0.0.1:7777"}};
  event.body = fmt::format("{{\"n\":{}}}", n);
  return event;
}

// Return delivery `n` of test event `event_n`: to one target, with `status` (0: an error).
inline core::Delivery
make_delivery(int n, int event_n, int status = 200, bool replay = false)
{
  core::Delivery delivery;
  delivery.id = fmt::format("dlv_{:026}", n);
  delivery.event_id = event_id(event_n);
  delivery.time_us = 1'700'000'000'000'000;
  delivery.target = "http://127.0.0.1:3000/hook";
  delivery.replay = replay;
  delivery.status = status;
  if (status == 0) {
    delivery.error = "connection refused";
  }
  return delivery;
}

} // namespace rag::test
