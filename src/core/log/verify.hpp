#pragma once

// `rag log verify`: a line-by-line check of the log that names every line readers skip
// and every suspicious one (docs/event-log.md, "Maintenance").

#include "core/log/id_set.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rag::core {

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

} // namespace rag::core
