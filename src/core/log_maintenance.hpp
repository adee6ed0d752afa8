#pragma once

#include "core/record.hpp"
#include "util/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

// The pure and file-level parts of `rag log stats | verify | prune`: whole-log
// statistics in bounded memory, a line-by-line checker, and the prune that
// rewrites the log atomically under the writers' lock (docs/event-log.md,
// "Maintenance").

namespace rag::core {

// ---------------------------------------------------------------------------
// Building blocks

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

// A set of record ids kept compactly: an id of up to 31 bytes costs one hash-set
// node with no allocation of its own (about 60 bytes), longer ids a std::string.
class IdSet
{
public:
  // Add `id`; return false when it was in the set already.
  bool insert(std::string_view id);

  // Return true when `id` is in the set.
  bool contains(std::string_view id) const;

  // Return the number of ids in the set.
  std::size_t size() const { return m_short.size() + m_long.size(); }

private:
  using Key = std::array<char, 32>; // the id zero-padded; the last byte holds its length
  struct KeyHash
  {
    std::size_t operator()(const Key& key) const;
  };
  static std::optional<Key> make_key(std::string_view id);
  std::unordered_set<Key, KeyHash> m_short;
  std::unordered_set<std::string> m_long;
};

// ---------------------------------------------------------------------------
// rag log stats

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
  std::uint64_t deliveries = 0;          // valid delivery records, replays included
  std::uint64_t replays = 0;             // deliveries sent by `rag replay`
  std::uint64_t bad_lines = 0;           // corrupt lines, plus a torn last line
  std::optional<std::int64_t> oldest_us; // the earliest event time
  std::optional<std::int64_t> newest_us; // the latest event time
  std::vector<NamedCount> methods;       // events by method, most frequent first
  std::vector<NamedCount> top_paths;     // events by path (target without query), top 10
  bool approximate = false;              // too many distinct methods or paths to count them exactly
  StatusClasses statuses;                // deliveries by outcome
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

// ---------------------------------------------------------------------------
// rag log verify

// Something wrong with one line of the log.
struct LogProblem
{
  std::uint64_t line = 0; // 1-based line number
  bool warning = false;   // true: suspicious but readable; false: a bad line readers skip
  std::string reason;
};

// Return "LINE: REASON", or "LINE: warning: REASON" for a warning.
std::string format_problem(const LogProblem& problem);

// Return `problem` as one JSON object (no newline): {"line":N,"severity":"error"|"warning",
// "reason":"..."}.
std::string to_json_line(const LogProblem& problem);

// What a verify pass counted.
struct VerifySummary
{
  bool exists = false;
  std::uint64_t size = 0;
  std::uint64_t lines = 0; // complete lines, plus a torn last line
  std::uint64_t events = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t bad_lines = 0;
  std::uint64_t warnings = 0;
};

// Checks log lines in file order. A bad line is one readers skip: not a valid record,
// or a torn last line. Warnings: a delivery whose event is not earlier in the log, an
// event id used twice. Remembers every event id (about 60 bytes each).
class LogVerifier
{
public:
  using ProblemFn = std::function<void(const LogProblem&)>;

  explicit LogVerifier(ProblemFn on_problem);

  // Check complete line number `number` (1-based), reporting what is wrong with it.
  void line(std::uint64_t number, std::string_view text);

  // Report a torn last line of `bytes` bytes as line `number`.
  void torn_tail(std::uint64_t number, std::uint64_t bytes);

  // Return the counts so far (`exists` and `size` are the caller's).
  const VerifySummary& summary() const { return m_summary; }

private:
  void report(std::uint64_t number, bool warning, std::string reason);
  ProblemFn m_on_problem;
  VerifySummary m_summary;
  IdSet m_event_ids;
};

// Check every line of the log at `path` in order, calling `on_problem` for each problem;
// a missing log is clean.
Result<VerifySummary> verify_log(const std::string& path, const LogVerifier::ProblemFn& on_problem);

// ---------------------------------------------------------------------------
// rag log prune

// What `rag log prune` removes: exactly one of the two is set.
struct PrunePolicy
{
  std::optional<std::uint64_t> keep;     // keep the newest N events: the last N in the file
  std::optional<std::int64_t> before_us; // remove events whose time is before this
};

// What a prune removed and kept (or, for a dry run, would).
struct PruneReport
{
  bool exists = false;    // false when there was no log
  bool rewritten = false; // the log was replaced (false for a dry run or nothing to remove)
  std::uint64_t events_removed = 0;
  std::uint64_t events_kept = 0;
  std::uint64_t deliveries_removed = 0;
  std::uint64_t deliveries_kept = 0;
  std::uint64_t bad_lines_kept = 0;  // corrupt lines are never removed
  std::uint64_t torn_tail_bytes = 0; // a torn last line dropped (as the next writer would)
  std::uint64_t size_before = 0;
  std::uint64_t size_after = 0;
};

// Return `report` as one JSON object (no newline) with stable field names.
std::string to_json_line(const PruneReport& report, bool dry_run);

// The lines of a log as a prune plan reads them: calls `fn(index, text)` for every
// complete line in order, index from 0. It is run several times and must give the
// same lines each time.
using LineSource =
    std::function<Result<void>(const std::function<void(std::uint64_t, std::string_view)>&)>;

// What prune decided for each line of a log. It removes the events `policy` selects
// and the deliveries of those events; everything else stays: bad lines (never
// destroyed silently) and deliveries whose event is not in the log (nothing says
// they are old). Memory: one byte per line plus an IdSet entry per removed event.
class PrunePlan
{
public:
  // Decide for every line of `lines` (read two or three times).
  static Result<PrunePlan> make(const LineSource& lines, const PrunePolicy& policy);

  // Return the number of lines planned for.
  std::uint64_t lines() const { return m_lines.size(); }

  // Return true when line `index` (< lines()) is removed.
  bool removes(std::uint64_t index) const;

  // Decide for a line appended after planning and count it: an event is kept unless
  // its time is before policy.before_us, a delivery goes with its event.
  bool removes_appended(std::string_view text);

  // Return the counts of the lines decided so far (sizes are the caller's).
  const PruneReport& report() const { return m_report; }

  // Return the bytes (newlines included) of the lines removed so far.
  std::uint64_t removed_bytes() const { return m_removed_bytes; }

  // Return the bytes (newlines included) of the lines planned for.
  std::uint64_t planned_bytes() const { return m_planned_bytes; }

private:
  explicit PrunePlan(const PrunePolicy& policy) : m_policy(policy) {}
  PrunePolicy m_policy;
  std::vector<std::uint8_t> m_lines; // per line: its kind and whether it is removed
  IdSet m_removed_ids;
  PruneReport m_report;
  std::uint64_t m_removed_bytes = 0;
  std::uint64_t m_planned_bytes = 0;
};

// Remove what `policy` selects from the log at `path`: plan without the lock, then
// under the exclusive lock every writer takes write the kept lines (byte for byte) to a
// temporary file (0600) in the same directory, fsync it, rename it over the log and
// fsync the directory. Writers waiting meanwhile append to the new file afterwards, so
// nothing is lost; lines appended since the plan are kept (or judged by time). With
// nothing to remove the log is left untouched; with `dry_run` only counted. `on_locked`,
// when set, runs once the lock is held and before the rewrite starts (where a caller
// blocks Ctrl-C: not while waiting for the lock, which could take long).
Result<PruneReport> prune_log(const std::string& path, const PrunePolicy& policy, bool dry_run,
                              const std::function<void()>& on_locked = {});

} // namespace rag::core
