#pragma once

// The log scanner: complete lines of the log file, forwards from an offset or backwards
// from the end, in blocks of constant size, with what follows the last complete line (a
// torn tail) reported apart. It knows lines, not records: the reader parses them.

#include "util/fd.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rag::core {

// One complete line of the log (without its newline).
struct LogLine
{
  std::uint64_t number = 0; // 1-based line number; 0 when unknown: reading backwards
                            // or from a start_offset > 0 (computed only for warnings)
  std::uint64_t offset = 0; // byte offset of the line's first byte
  std::string_view text;
};

// Called with each line; returns true to keep scanning, false to stop.
using LogLineFn = std::function<bool(const LogLine&)>;

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
                                std::uint64_t end_offset, const LogLineFn& fn);

// The log opened for reading.
struct OpenLog
{
  util::Fd fd; // invalid when there is no log (it reads as empty)
  std::uint64_t size = 0;
};

// Open the log for reading; a missing file is an invalid Fd (reads as empty), anything
// but a regular file (a directory, a FIFO: never waited on) or an unreadable file an
// Error naming the path.
Result<OpenLog> open_log_for_reading(const std::string& path);

// What a forward scan saw.
struct ForwardScan
{
  std::uint64_t end_offset = 0;  // just past the last delivered line
  std::uint64_t tail_bytes = 0;  // bytes after the last '\n' (when not stopped)
  std::uint64_t last_number = 0; // number of the last delivered line (0 = unknown)
  bool stopped = false;          // `fn` returned false
};

// Deliver every complete line of [start, size) of the open log `fd` in order.
Result<ForwardScan> scan_log_forward(const std::string& path, int fd, std::uint64_t start,
                                     std::uint64_t size, const LogLineFn& fn);

// What a reverse scan saw.
struct ReverseScan
{
  std::uint64_t size = 0;        // file size the scan worked on
  std::uint64_t tail_offset = 0; // start of the bytes after the last '\n'
  std::uint64_t tail_bytes = 0;
};

// Deliver every complete line of the open log `fd` (`size` bytes), last first, reading
// blocks from the end. `on_tail` is called once, before any line, with the trailing
// partial line's offset and length (length 0 when the file ends with '\n').
Result<ReverseScan> scan_log_reverse(const std::string& path, int fd, std::uint64_t size,
                                     const std::function<void(const ReverseScan&)>& on_tail,
                                     const LogLineFn& fn);

// Return the number of '\n' bytes before `offset`: the 0-based number of the line starting
// there. Only used to name a bad line in a warning, so its cost is paid rarely.
std::uint64_t count_newlines_before(int fd, std::uint64_t offset);

// Return true when the file still ends without '\n' at `size` while no writer holds the
// lock: then a crashed writer left it, it is not a line being written.
bool confirm_torn_tail(int fd, std::uint64_t size);

} // namespace rag::core
