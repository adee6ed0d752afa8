#include "core/log/scanner.hpp"

#include "core/log/log_file.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

namespace rag::core {

namespace {

using util::errno_text;
using util::Fd;
using util::pread_full;

// Readers work in blocks this big: large enough that a scan is a few syscalls
// per MiB, small enough that memory stays constant for any log size.
constexpr std::size_t k_block = 1 << 20;

Error
read_error(const std::string& path, int err)
{
  return error(fmt::format("cannot read event log {}: {}", path, errno_text(err)));
}

} // namespace

std::uint64_t
count_newlines_before(int fd, std::uint64_t offset)
{
  std::string buf(std::min<std::uint64_t>(k_block, offset), '\0');
  std::uint64_t count = 0;
  std::uint64_t pos = 0;
  while (pos < offset) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), offset - pos));
    const ssize_t n = pread_full(fd, buf.data(), want, pos);
    if (n <= 0) {
      break;
    }
    count += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + n, '\n'));
    pos += static_cast<std::uint64_t>(n);
  }
  return count;
}

bool
confirm_torn_tail(int fd, std::uint64_t size)
{
  if (util::flock_retry(fd, LOCK_SH) != 0) {
    return true; // no flock on this file system: nothing better to go on
  }
  util::FlockGuard unlock(fd);
  struct stat st
  {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size || size == 0) {
    return false;
  }
  char last = 0;
  return pread_full(fd, &last, 1, size - 1) == 1 && last != '\n';
}

Result<OpenLog>
open_log_for_reading(const std::string& path)
{
  OpenLog log;
  RAG_TRY_ASSIGN(const int fd, open_regular_log(path, O_RDONLY));
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return log;
    }
    return error(fmt::format("cannot open event log {}: {}", path, errno_text(err)));
  }
  log.fd = Fd(fd);
  struct stat st
  {};
  if (::fstat(fd, &st) != 0) {
    return read_error(path, errno);
  }
  log.size = static_cast<std::uint64_t>(st.st_size);
  return log;
}

Result<ForwardScan>
scan_log_forward(const std::string& path, int fd, std::uint64_t start, std::uint64_t size,
                 const LogLineFn& fn)
{
  ForwardScan scan;
  scan.end_offset = start;
  if (start >= size) {
    return scan;
  }
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(k_block, size - start)), '\0');
  std::size_t have = 0; // bytes of buf in use
  std::uint64_t buf_offset = start;
  std::uint64_t number = start == 0 ? 1 : 0;
  std::size_t scanned = 0; // bytes of buf already searched for '\n'
  while (buf_offset + have < size) {
    if (have == buf.size()) {
      // A line longer than the buffer: grow it (doubling keeps the copies linear).
      buf.resize(std::min<std::uint64_t>(buf.size() * 2, size - buf_offset));
    }
    const auto want = static_cast<std::size_t>(
        std::min<std::uint64_t>(buf.size() - have, size - buf_offset - have));
    const ssize_t n = pread_full(fd, buf.data() + have, want, buf_offset + have);
    if (n < 0) {
      return read_error(path, errno);
    }
    if (n == 0) {
      break; // the file shrank under us (a torn tail was repaired): stop here
    }
    have += static_cast<std::size_t>(n);

    std::size_t line_start = 0;
    while (true) {
      const void* nl = std::memchr(buf.data() + scanned, '\n', have - scanned);
      if (nl == nullptr) {
        scanned = have;
        break;
      }
      const auto nl_pos = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      const LogLine line{number, buf_offset + line_start,
                         std::string_view(buf.data() + line_start, nl_pos - line_start)};
      scan.last_number = number;
      if (number != 0) {
        ++number;
      }
      line_start = nl_pos + 1;
      scanned = line_start;
      scan.end_offset = buf_offset + line_start;
      if (!fn(line)) {
        scan.stopped = true;
        return scan;
      }
    }
    // Keep the partial last line at the front of the buffer for the next read.
    std::memmove(buf.data(), buf.data() + line_start, have - line_start);
    buf_offset += line_start;
    have -= line_start;
    scanned -= line_start;
  }
  scan.tail_bytes = have;
  return scan;
}

Result<ReverseScan>
scan_log_reverse(const std::string& path, int fd, std::uint64_t size,
                 const std::function<void(const ReverseScan&)>& on_tail, const LogLineFn& fn)
{
  ReverseScan scan;
  // Bytes before the last '\n' never change (writers only append and cut torn
  // tails), but the tail itself may be repaired while we look for that '\n'; a
  // short read means that happened, so start over from the new size.
  for (int attempt = 0;; ++attempt) {
    scan.size = size;
    std::string buf; // file bytes [lo, lo + buf.size())
    std::uint64_t lo = size;
    std::uint64_t search_end = size; // [lo, search_end) not yet searched
    std::uint64_t line_end = size;   // exclusive end of the line being assembled
    bool found_last_newline = false;
    bool restart = false;

    while (true) {
      const auto span = static_cast<std::size_t>(search_end - lo);
      const void* nl = span == 0 ? nullptr : ::memrchr(buf.data(), '\n', span);
      if (nl != nullptr) {
        const auto f = lo + static_cast<std::uint64_t>(static_cast<const char*>(nl) - buf.data());
        search_end = f;
        if (!found_last_newline) {
          found_last_newline = true;
          scan.tail_offset = f + 1;
          scan.tail_bytes = size - (f + 1);
          line_end = f;
          on_tail(scan);
          continue;
        }
        const LogLine line{0, f + 1,
                           std::string_view(buf.data() + (f + 1 - lo),
                                            static_cast<std::size_t>(line_end - (f + 1)))};
        line_end = f;
        if (!fn(line)) {
          return scan;
        }
        continue;
      }
      if (lo == 0) {
        if (found_last_newline) {
          fn(LogLine{0, 0, std::string_view(buf.data(), static_cast<std::size_t>(line_end))});
        } else {
          scan.tail_offset = 0;
          scan.tail_bytes = size;
          on_tail(scan);
        }
        return scan;
      }
      // Extend the buffer backwards, keeping only the unfinished line (nothing
      // while still inside the tail); reading at least as much as is kept makes
      // the copying linear even for a line of many blocks.
      const std::size_t keep =
          found_last_newline ? static_cast<std::size_t>(line_end - lo) : std::size_t{0};
      const auto amount =
          static_cast<std::size_t>(std::min<std::uint64_t>(lo, std::max(k_block, keep)));
      std::string next(amount + keep, '\0');
      const ssize_t n = pread_full(fd, next.data(), amount, lo - amount);
      if (n < 0) {
        return read_error(path, errno);
      }
      if (static_cast<std::size_t>(n) != amount) {
        if (found_last_newline) {
          return error(fmt::format("cannot read event log {}: it shrank while being read", path));
        }
        restart = true;
        break;
      }
      std::memcpy(next.data() + amount, buf.data(), keep);
      buf = std::move(next);
      search_end = lo;
      lo -= amount;
    }
    if (!restart) {
      return scan;
    }
    struct stat st
    {};
    if (attempt >= 3 || ::fstat(fd, &st) != 0) {
      return error(fmt::format("cannot read event log {}: it changed while being read", path));
    }
    size = static_cast<std::uint64_t>(st.st_size);
  }
}

Result<LineScan>
scan_log_lines(int fd, const std::string& path, std::uint64_t start_offset,
               std::uint64_t end_offset, const LogLineFn& fn)
{
  LineScan result;
  result.exists = true;
  result.size = end_offset;
  const auto counted = [&](const LogLine& line) {
    ++result.lines;
    return fn(line);
  };
  RAG_TRY_ASSIGN(const ForwardScan scan,
                 scan_log_forward(path, fd, start_offset, end_offset, counted));
  result.end_offset = scan.end_offset;
  result.tail_bytes = scan.stopped ? 0 : scan.tail_bytes;
  return result;
}

} // namespace rag::core
