#pragma once

#include "core/record.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rag::core {

// Return the log path rag uses when neither --log nor RAG_LOG is given:
// ${XDG_STATE_HOME:-$HOME/.local/state}/rag/events.jsonl.
std::string default_log_path();

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

  // Append `line` (one JSON record without newline) plus '\n' in a single write()
  // under the shared lock; a torn last line left by a crashed writer is cut off first.
  Result<void> append(std::string_view line);

  const std::string& path() const { return m_path; }

private:
  EventLogWriter(int fd, std::string path, Warn warn);
  int m_fd = -1;
  std::string m_path;
  Warn m_warn;
};

// One complete line of the log (without its newline).
struct LogLine
{
  std::uint64_t number = 0;   // 1-based line number; 0 when reading backwards
                              // (computed only for warnings)
  std::uint64_t offset = 0;   // byte offset of the line's first byte
  std::string_view text;
};

// Reads the event log. Bad lines (torn, corrupt, unknown kind) are skipped and
// reported once each through `warn` as "FILE:LINE: skipped corrupt line (REASON)".
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

  // Call `fn` for every complete line from `start_offset` on, in file order; a
  // last line without '\n' is not delivered. Return the offset just past the last
  // delivered line (where a follower resumes). A missing file reads as empty.
  Result<std::uint64_t> for_each_line(const LineFn& fn, std::uint64_t start_offset = 0) const;

  // Call `fn` for every complete line from the end of the file backwards,
  // reading the file in blocks from its end (cost independent of file size).
  Result<void> for_each_line_reverse(const LineFn& fn) const;

  // Parse lines in file order; lines rejected by `raw` are not parsed, bad lines
  // are skipped with a warning. Return the offset past the last complete line.
  Result<std::uint64_t> for_each_record(const RecordFn& fn, const RawFilter& raw = {},
                                        std::uint64_t start_offset = 0) const;

  // As for_each_record, newest first, reading from the end.
  Result<void> for_each_record_reverse(const RecordFn& fn, const RawFilter& raw = {}) const;

  // Find the event whose id starts with `prefix` ("evt_" optional); no match or
  // several matches (listed in the message) is an Error.
  Result<Event> find_event(std::string_view prefix) const;

  const std::string& path() const { return m_path; }

private:
  std::string m_path;
  Warn m_warn;
};

} // namespace rag::core
