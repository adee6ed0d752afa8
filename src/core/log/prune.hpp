#pragma once

// `rag log prune`: remove old events and their deliveries by rewriting the log
// atomically under the lock every writer takes (docs/event-log.md, "Maintenance").

#include "core/log/id_set.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

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
