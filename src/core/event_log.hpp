#pragma once

#include "core/record.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace rag::core {

// Return the log path rag uses when neither --log nor RAG_LOG is given:
// ${XDG_STATE_HOME:-$HOME/.local/state}/rag/events.jsonl.
std::string default_log_path();

// Return where default_log_path() comes from, for people: "$XDG_STATE_HOME/rag/events.jsonl",
// "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME is not set)", and so on.
std::string describe_default_log_path();

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
  // Take the flock on the file the path names now, reopening it first when it was
  // replaced (prune renames a rewritten log over it) or removed; report the locked
  // file's size and whether it is a regular file.
  Result<void> lock_current_file(std::uint64_t& size, bool& regular);
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

// One complete line of the log (without its newline).
struct LogLine
{
  std::uint64_t number = 0; // 1-based line number; 0 when unknown: reading backwards
                            // or from a start_offset > 0 (computed only for warnings)
  std::uint64_t offset = 0; // byte offset of the line's first byte
  std::string_view text;
};

// What a scan of complete lines saw.
struct LineScan
{
  bool exists = false;          // the file exists (a missing log reads as empty)
  std::uint64_t size = 0;       // the file size the scan worked up to
  std::uint64_t end_offset = 0; // just past the last delivered line
  std::uint64_t lines = 0;      // complete lines delivered
  std::uint64_t tail_bytes = 0; // bytes after the last complete line (0 when stopped early)
  bool tail_torn = false;       // those bytes are a torn line (see TornTail::warn)
};

// Call `fn` for every complete line of the open log file `fd` in [start_offset, end_offset)
// in file order (start_offset must be a line start; lines are numbered only from offset 0);
// `path` names the file in errors. The tail is reported but never confirmed as torn: for a
// caller that holds the writer lock (any tail is then torn) or that ignores the tail.
Result<LineScan> scan_log_lines(int fd, const std::string& path, std::uint64_t start_offset,
                                std::uint64_t end_offset,
                                const std::function<bool(const LogLine&)>& fn);

// What a record reader does about a last line that has no '\n'.
enum class TornTail {
  // Skip it with one warning "FILE:LINE: skipped torn last line (N bytes, no
  // newline)", but only after confirming under a shared flock that no writer is
  // in the middle of writing it (so a live log never gives a false warning).
  warn,
  // Skip it silently: for a follower that polls a growing log and would otherwise
  // repeat the warning on every poll; it resumes from the returned offset.
  ignore,
};

// Reads the event log. Bad lines (corrupt, unknown kind, unsupported version) are
// skipped and reported once each through `warn` as "FILE:LINE: skipped corrupt line
// (REASON)"; a torn last line as described at TornTail. Readers take no lock except
// for that torn-tail check, so they never slow down writers.
class EventLogReader
{
public:
  using Warn = std::function<void(const std::string&)>;
  // Return true to keep reading, false to stop.
  using LineFn = std::function<bool(const LogLine&)>;
  using RecordFn = std::function<bool(Record&&, const LogLine&)>;
  // Cheap test on the raw bytes of a line before it is parsed; false skips it.
  using RawFilter = std::function<bool(std::string_view)>;

  explicit EventLogReader(std::string path, Warn warn = {});

  // Call `fn` for every complete line from `start_offset` (a line start) up to the
  // file size seen when the call began, in file order; a last line without '\n'
  // is not delivered and never warned about. Return the offset just past the last
  // delivered line (where a follower resumes; when `fn` stops early, just past the
  // line it stopped on). A missing file reads as empty. The `text` of a LogLine
  // is valid only during the call.
  Result<std::uint64_t> for_each_line(const LineFn& fn, std::uint64_t start_offset = 0) const;

  // Call `fn` for every complete line in file order, numbered from 1, up to the file size
  // seen when the call began, and report what follows the last complete line, confirming a
  // torn line as TornTail::warn does (without warning). `fn` returning false stops the scan.
  Result<LineScan> scan_lines(const LineFn& fn) const;

  // Call `fn` for every complete line from the end of the file backwards,
  // reading the file in blocks from its end (cost independent of file size);
  // a trailing partial line is skipped silently.
  Result<void> for_each_line_reverse(const LineFn& fn) const;

  // Parse lines in file order; lines rejected by `raw` are not parsed, bad lines
  // are skipped with a warning. Return the offset past the last complete line.
  Result<std::uint64_t> for_each_record(const RecordFn& fn, const RawFilter& raw = {},
                                        std::uint64_t start_offset = 0,
                                        TornTail torn_tail = TornTail::warn) const;

  // As for_each_record, newest first, reading from the end.
  Result<void> for_each_record_reverse(const RecordFn& fn, const RawFilter& raw = {},
                                       TornTail torn_tail = TornTail::warn) const;

  // Find the event whose id starts with `prefix` ("evt_" optional, case-insensitive);
  // no match or several matches (up to 5 listed in the message) is an Error.
  Result<Event> find_event(std::string_view prefix) const;

  const std::string& path() const { return m_path; }

private:
  std::string m_path;
  Warn m_warn;
};

} // namespace rag::core
