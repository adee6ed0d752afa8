#pragma once

// The log writer: appends records to the log, many threads and processes at once, with
// group commit (one write() carries the lines of every thread that arrived meanwhile).

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace rag::core {

// Appends records to the JSON Lines event log. Safe to use from many threads and
// many processes at once: each record is one write() under an exclusive flock on
// the log file, so lines never interleave.
class EventLogWriter
{
public:
  using Warn = std::function<void(const std::string&)>;

  // Open `path` for appending, creating its directory (0700) and the file (0600);
  // an unwritable path is an Error naming the path. `warn` receives one message
  // per repaired torn tail.
  static Result<EventLogWriter> open(const std::string& path, Warn warn = {});

  EventLogWriter(EventLogWriter&& other) noexcept;
  EventLogWriter& operator=(EventLogWriter&& other) noexcept;
  EventLogWriter(const EventLogWriter&) = delete;
  EventLogWriter& operator=(const EventLogWriter&) = delete;
  ~EventLogWriter();

  // Append `line` (one JSON record without newline) plus '\n' under the shared lock,
  // returning once it is in the file; a torn last line left by a crashed writer is cut
  // off first. Threads appending at once are written together (group commit): one
  // write() carries whole lines only, so no line is ever split or interleaved. A line
  // containing '\n' is an Error (it would split the record); a failed write is undone
  // (the file is cut back) so it never leaves a torn line behind, and every line of
  // that write gets the Error. When the file opened was replaced (a prune renamed a new
  // log over it) or deleted, the writer reopens the path first; when it was moved
  // elsewhere, within k_path_recheck.
  Result<void> append(std::string_view line);

  // Queue `line` (as append() would write it) without waiting: it goes out with the
  // next append() or flush() of this writer, in one write with their lines. Records
  // nobody waits for (deliveries) take this path; the caller must see to a flush().
  // A line containing '\n' is an Error; a failed write of its batch goes to whoever
  // wrote the batch.
  Result<void> enqueue(std::string_view line);
  // Write every queued line now (waiting for a write in progress that holds them);
  // returns that write's Error, if any.
  Result<void> flush();
  // True when queued lines wait for a write nobody has started yet.
  bool has_queued() const;

  // How long a log moved away (still linked elsewhere) may keep receiving records
  // before the writer looks at its path again.
  static constexpr std::chrono::milliseconds k_path_recheck{100};

  const std::string& path() const { return m_path; }

private:
  struct Shared;
  EventLogWriter(int fd, std::string path, Warn warn);
  Result<void> check_line(std::string_view line) const;
  // Add `line` to the pending batch (starting one if needed); m_shared->mutex held.
  void queue_locked(std::string_view line);
  // Wait until the pending batch is written, writing it (and whatever joined it) when
  // nobody else is; `lock` holds m_shared->mutex.
  Result<void> commit_locked(std::unique_lock<std::mutex>& lock);
  // Write `lines` (whole lines) in one write() under the flock; called by one thread
  // at a time (the group-commit leader).
  Result<void> write_lines(const std::string& lines);
  // Cut the file (of `size` bytes, not ending in '\n') just after its last '\n'
  // and warn; return the new size. Called with the lock held.
  Result<std::uint64_t> repair_torn_tail(std::uint64_t size);
  int m_fd = -1;
  std::string m_path;
  Warn m_warn;
  // Lines waiting to be written and who writes them. flock() belongs to the open file
  // description, which all threads share, so threads of one process take turns here
  // before the flock. Behind a pointer so the writer stays movable.
  std::unique_ptr<Shared> m_shared;
};

} // namespace rag::core
