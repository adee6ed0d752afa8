#pragma once

// `rag log stats`: what a log holds, counted in one pass in bounded memory
// (docs/event-log.md, "Maintenance").

#include "core/record.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rag::core {

// A key and how often it occurred.
struct NamedCount
{
  std::string name;
  std::uint64_t count = 0;
};

// Counts how often keys occur in bounded memory: exact while at most `capacity`
// distinct keys were seen, afterwards an under-estimate (Misra-Gries) that still
// holds every key seen more often than 1/capacity of all additions. Keys longer
// than 256 bytes are cut to 256 bytes.
class FrequencyCounter
{
public:
  explicit FrequencyCounter(std::size_t capacity);

  // Count one occurrence of `key`.
  void add(std::string_view key);

  // Return the `n` most frequent keys, most frequent first, ties in byte order.
  std::vector<NamedCount> top(std::size_t n) const;

  // Return true while every count is exact.
  bool exact() const { return m_exact; }

private:
  std::size_t m_capacity;
  std::unordered_map<std::string, std::uint64_t> m_counts;
  bool m_exact = true;
};

// Deliveries by outcome.
struct StatusClasses
{
  std::uint64_t informational = 0; // 1xx
  std::uint64_t success = 0;       // 2xx
  std::uint64_t redirection = 0;   // 3xx
  std::uint64_t client_error = 0;  // 4xx
  std::uint64_t server_error = 0;  // 5xx
  std::uint64_t failed = 0;        // no HTTP response (an `error`) or a status outside 100-599
};

// What a log holds, as `rag log stats` shows it.
struct LogStats
{
  bool exists = false;                   // false for a missing log (which reads as empty)
  std::uint64_t size = 0;                // bytes
  std::uint64_t lines = 0;               // complete lines, plus a torn last line
  std::uint64_t events = 0;              // valid event records
  std::uint64_t refused = 0;             // events rag refused (with `rejected`), also in events
  std::uint64_t deliveries = 0;          // valid delivery records, replays included
  std::uint64_t replays = 0;             // deliveries sent by `rag replay`
  std::uint64_t bad_lines = 0;           // corrupt lines, plus a torn last line
  std::optional<std::int64_t> oldest_us; // the earliest event time
  std::optional<std::int64_t> newest_us; // the latest event time
  std::vector<NamedCount> methods;   // events by method, most frequent first (none: not counted)
  std::vector<NamedCount> top_paths; // events by path (target without query), top 10 (likewise)
  bool approximate = false;          // too many distinct methods or paths to count them exactly
  StatusClasses statuses;            // deliveries by outcome
};

// Accumulates LogStats one line at a time in bounded memory (records are not kept).
class LogStatsBuilder
{
public:
  LogStatsBuilder();

  // Count one valid record.
  void add(const Record& record);

  // Count one bad line (corrupt, or a torn last line).
  void add_bad_line();

  // Return the statistics of everything counted, with the `top` most frequent paths;
  // `exists` and `size` are the caller's to fill in.
  LogStats finish(std::size_t top = 10) const;

private:
  LogStats m_stats;
  FrequencyCounter m_methods;
  FrequencyCounter m_paths;
};

// Read the whole log at `path` and return its statistics; a missing log is empty.
Result<LogStats> collect_log_stats(const std::string& path);

// Return `stats` of the log at `path` as one JSON object (no newline) with stable
// field names (docs/event-log.md, "Maintenance").
std::string to_json_line(const LogStats& stats, const std::string& path);

} // namespace rag::core
