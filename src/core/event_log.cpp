#include "core/event_log.hpp"

#include "core/record_json.hpp"
#include "util/fd.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace rag::core {

namespace {

using util::errno_text;
using util::Fd;
using util::flock_retry;
using util::FlockGuard;
using util::pread_full;

// Readers work in blocks this big: large enough that a scan is a few syscalls
// per MiB, small enough that memory stays constant for any log size.
constexpr std::size_t k_block = 1 << 20;

// The torn-tail search of a writer is usually satisfied by the first block.
constexpr std::size_t k_repair_block = 64 * 1024;

constexpr const char* k_writable_hint = "pass --log FILE with a writable path";

Error
read_error(const std::string& path, int err)
{
  return error(fmt::format("cannot read event log {}: {}", path, errno_text(err)));
}

// Create every missing directory of `dir` with mode 0700 (`mkdir -p`): the payloads
// are private, so the mode is exactly 0700 whatever the umask.
Result<void>
make_directories(const std::string& dir)
{
  std::string failed;
  if (const int err = util::make_directories(dir, 0700, failed); err != 0) {
    return error(fmt::format("cannot create event log directory {}: {}", failed, errno_text(err)),
                 k_writable_hint);
  }
  return {};
}

// Count the '\n' bytes before `offset`: the 0-based number of the line starting
// there. Only used to name a bad line in a warning, so its cost is paid rarely.
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

// Return true when the file still ends without '\n' at `size` while no writer
// holds the lock: then a crashed writer left it, it is not a line being written.
bool
confirm_torn_tail(int fd, std::uint64_t size)
{
  if (flock_retry(fd, LOCK_SH) != 0) {
    return true; // no flock on this file system: nothing better to go on
  }
  FlockGuard unlock(fd);
  struct stat st
  {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size || size == 0) {
    return false;
  }
  char last = 0;
  return pread_full(fd, &last, 1, size - 1) == 1 && last != '\n';
}

struct OpenLog
{
  Fd fd;
  std::uint64_t size = 0;
};

// Return true unless `text` certainly is no record (one JSON object): a check that
// costs two bytes, for a read that skips lines unparsed but still names the bad ones.
bool
may_be_record(std::string_view text)
{
  return !text.empty() && text.front() == '{' && text.back() == '}';
}

// Open the log for reading; a missing file is an invalid Fd (reads as empty).
Result<OpenLog>
open_for_reading(const std::string& path)
{
  OpenLog log;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
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
  if (S_ISDIR(st.st_mode)) {
    return error(fmt::format("cannot read event log {}: {}", path, errno_text(EISDIR)));
  }
  log.size = static_cast<std::uint64_t>(st.st_size);
  return log;
}

struct ForwardScan
{
  std::uint64_t end_offset = 0;  // just past the last delivered line
  std::uint64_t tail_bytes = 0;  // bytes after the last '\n' (when not stopped)
  std::uint64_t last_number = 0; // number of the last delivered line (0 = unknown)
  bool stopped = false;          // `fn` returned false
};

// Deliver every complete line of [start, size) in order.
Result<ForwardScan>
scan_forward(const std::string& path, int fd, std::uint64_t start, std::uint64_t size,
             const EventLogReader::LineFn& fn)
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

struct ReverseScan
{
  std::uint64_t size = 0;        // file size the scan worked on
  std::uint64_t tail_offset = 0; // start of the bytes after the last '\n'
  std::uint64_t tail_bytes = 0;
};

// Deliver every complete line of the file, last first, reading blocks from the end.
// `on_tail` is called once, before any line, with the trailing partial line's
// offset and length (length 0 when the file ends with '\n').
Result<ReverseScan>
scan_reverse(const std::string& path, int fd, std::uint64_t size,
             const std::function<void(const ReverseScan&)>& on_tail,
             const EventLogReader::LineFn& fn)
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

// Create the log's directories and open (or create) the log for appending.
Result<int>
open_log_for_append(const std::string& path)
{
  if (path.empty()) {
    return error("cannot open event log: the path is empty", k_writable_hint);
  }
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    RAG_TRY(make_directories(path.substr(0, slash)));
  }
  // O_RDWR, not O_WRONLY: append() reads the last byte to detect a torn tail.
  // O_EXCL first so that we know whether we created the file and must set its
  // mode exactly (the umask could otherwise leave it unreadable or unwritable).
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      return fd;
    }
    if (errno == EEXIST) {
      fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
      if (fd >= 0) {
        return fd;
      }
      if (errno == ENOENT) {
        continue; // deleted between the two opens: try creating it again
      }
    }
    break;
  }
  return error(fmt::format("cannot open event log {}: {}", path, errno_text(errno)),
               k_writable_hint);
}

struct DefaultLogPath
{
  std::string path;
  std::string origin; // for `rag log path`
};

DefaultLogPath
find_default_log_path()
{
  const char* state = std::getenv("XDG_STATE_HOME");
  // The XDG spec says relative values are invalid and must be ignored.
  if (state != nullptr && state[0] == '/') {
    return {std::string(state) + "/rag/events.jsonl", "$XDG_STATE_HOME/rag/events.jsonl"};
  }
  const std::string why_not_xdg = state == nullptr || state[0] == '\0'
                                      ? "XDG_STATE_HOME is not set"
                                      : "XDG_STATE_HOME is ignored: not an absolute path";
  std::string home;
  std::string origin;
  if (const char* env_home = std::getenv("HOME"); env_home != nullptr && env_home[0] != '\0') {
    home = env_home;
    origin = fmt::format("$HOME/.local/state/rag/events.jsonl ({})", why_not_xdg);
  } else {
    struct passwd pwd
    {};
    struct passwd* result = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(::getuid(), &pwd, buf.data(), buf.size(), &result) == 0 && result != nullptr &&
        result->pw_dir != nullptr) {
      home = result->pw_dir;
    }
    origin = fmt::format(
        "~/.local/state/rag/events.jsonl ({}; HOME is not set, the home directory is the "
        "password database's)",
        why_not_xdg);
  }
  if (home.empty()) {
    // No home anywhere (a bare container): a path relative to the working
    // directory still works and the user can always pass --log.
    return {".local/state/rag/events.jsonl",
            "relative to the working directory (no XDG_STATE_HOME, no home directory)"};
  }
  if (home.size() > 1 && home.back() == '/') {
    home.pop_back();
  }
  return {home + "/.local/state/rag/events.jsonl", std::move(origin)};
}

} // namespace

std::string
default_log_path()
{
  return find_default_log_path().path;
}

std::string
describe_default_log_path()
{
  return find_default_log_path().origin;
}

Result<LineScan>
scan_log_lines(int fd, const std::string& path, std::uint64_t start_offset,
               std::uint64_t end_offset, const std::function<bool(const LogLine&)>& fn)
{
  LineScan result;
  result.exists = true;
  result.size = end_offset;
  const auto counted = [&](const LogLine& line) {
    ++result.lines;
    return fn(line);
  };
  RAG_TRY_ASSIGN(const ForwardScan scan, scan_forward(path, fd, start_offset, end_offset, counted));
  result.end_offset = scan.end_offset;
  result.tail_bytes = scan.stopped ? 0 : scan.tail_bytes;
  return result;
}

// ---------------------------------------------------------------------------
// EventLogWriter

// One group-commit write: the lines appended while the previous one was running.
struct CommitBatch
{
  bool done = false;
  std::optional<Error> error;
};

struct EventLogWriter::Shared
{
  std::mutex mutex;                   // guards the members below
  std::condition_variable ended;      // a batch finished
  std::string pending;                // whole lines ('\n'-terminated) for the next write
  std::shared_ptr<CommitBatch> batch; // the batch `pending` belongs to
  bool writing = false;               // a leader is writing a batch now
  std::string spare;                  // the last batch's buffer, reused
  // File size right after our last write, or max when unknown: when the file still
  // has this size nobody else wrote since, so it ends in our '\n'. Leader only.
  std::uint64_t size_after_write = std::numeric_limits<std::uint64_t>::max();
  // When the path was last seen to name our file. Leader only.
  std::chrono::steady_clock::time_point path_checked{};
};

EventLogWriter::EventLogWriter(int fd, std::string path, Warn warn)
    : m_fd(fd), m_path(std::move(path)), m_warn(std::move(warn)),
      m_shared(std::make_unique<Shared>())
{}

EventLogWriter::EventLogWriter(EventLogWriter&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)),
      m_warn(std::move(other.m_warn)), m_shared(std::move(other.m_shared))
{}

EventLogWriter&
EventLogWriter::operator=(EventLogWriter&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
    m_path = std::move(other.m_path);
    m_warn = std::move(other.m_warn);
    m_shared = std::move(other.m_shared);
  }
  return *this;
}

EventLogWriter::~EventLogWriter()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Result<EventLogWriter>
EventLogWriter::open(const std::string& path, Warn warn)
{
  RAG_TRY_ASSIGN(const int fd, open_log_for_append(path));
  return EventLogWriter(fd, path, std::move(warn));
}

Result<void>
EventLogWriter::check_line(std::string_view line) const
{
  if (m_fd < 0 || !m_shared) {
    return error("cannot append to the event log: it is not open");
  }
  if (std::memchr(line.data(), '\n', line.size()) != nullptr) {
    return error(
        fmt::format("cannot append to event log {}: the record contains a newline", m_path));
  }
  return {};
}

Result<void>
EventLogWriter::append(std::string_view line)
{
  RAG_TRY(check_line(line));
  std::unique_lock lock(m_shared->mutex);
  queue_locked(line);
  return commit_locked(lock);
}

Result<void>
EventLogWriter::enqueue(std::string_view line)
{
  RAG_TRY(check_line(line));
  std::lock_guard lock(m_shared->mutex);
  queue_locked(line);
  return {};
}

Result<void>
EventLogWriter::flush()
{
  if (m_fd < 0 || !m_shared) {
    return {};
  }
  Shared& shared = *m_shared;
  std::unique_lock lock(shared.mutex);
  // A write in progress may carry queued lines: they are out once it ends.
  shared.ended.wait(lock, [&shared] { return !shared.writing; });
  if (!shared.batch) {
    return {};
  }
  return commit_locked(lock);
}

bool
EventLogWriter::has_queued() const
{
  if (!m_shared) {
    return false;
  }
  std::lock_guard lock(m_shared->mutex);
  return static_cast<bool>(m_shared->batch);
}

void
EventLogWriter::queue_locked(std::string_view line)
{
  Shared& shared = *m_shared;
  shared.pending.append(line);
  shared.pending.push_back('\n');
  if (!shared.batch) {
    shared.batch = std::make_shared<CommitBatch>();
  }
}

Result<void>
EventLogWriter::commit_locked(std::unique_lock<std::mutex>& lock)
{
  Shared& shared = *m_shared;
  const std::shared_ptr<CommitBatch> mine = shared.batch;
  while (!mine->done) {
    if (shared.writing) {
      shared.ended.wait(lock);
      continue;
    }
    // Nobody is writing: lead, and write every pending line (ours among them) at once.
    // Threads that arrive meanwhile queue up for the next write, so under load one
    // lock-and-write serves many records.
    shared.writing = true;
    std::string lines = std::exchange(shared.pending, std::move(shared.spare));
    shared.pending.clear();
    const std::shared_ptr<CommitBatch> batch = std::exchange(shared.batch, nullptr);
    lock.unlock();
    Result<void> written = write_lines(lines);
    lock.lock();
    shared.writing = false;
    batch->done = true;
    if (!written) {
      batch->error = written.error();
    }
    lines.clear();
    shared.spare = std::move(lines);
    shared.ended.notify_all();
  }
  if (mine->error) {
    return *mine->error;
  }
  return {};
}

Result<void>
EventLogWriter::write_lines(const std::string& lines)
{
  Shared& shared = *m_shared;
  std::uint64_t size = 0;
  bool regular = false;
  RAG_TRY(lock_current_file(size, regular));
  FlockGuard unlock(m_fd);

  // A file that does not have the size our last write left was written by someone
  // else since: check it ends in a whole line.
  if (regular && size > 0 && size != shared.size_after_write) {
    char last = 0;
    if (pread_full(m_fd, &last, 1, size - 1) != 1) {
      shared.size_after_write = std::numeric_limits<std::uint64_t>::max();
      return error(fmt::format("cannot read event log {}: {}", m_path, errno_text(errno)));
    }
    if (last != '\n') {
      // We hold the lock, so no writer is mid-line: a crashed one left this.
      RAG_TRY_ASSIGN(size, repair_torn_tail(size));
    }
  }

  std::size_t written = 0;
  while (written < lines.size()) {
    const ssize_t n = ::write(m_fd, lines.data() + written, lines.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      shared.size_after_write = std::numeric_limits<std::uint64_t>::max();
      if (written > 0 && regular) {
        // Take back the partial write so the log stays whole (ENOSPC, EFBIG, ...).
        [[maybe_unused]] const int rc = ::ftruncate(m_fd, static_cast<off_t>(size));
      }
      return error(fmt::format("cannot write event log {}: {}", m_path, errno_text(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  shared.size_after_write =
      regular ? size + lines.size() : std::numeric_limits<std::uint64_t>::max();
  return {};
}

Result<void>
EventLogWriter::lock_current_file(std::uint64_t& size, bool& regular)
{
  for (int attempt = 0;; ++attempt) {
    if (flock_retry(m_fd, LOCK_EX) != 0) {
      return error(fmt::format("cannot lock event log {}: {}", m_path, errno_text(errno)));
    }
    struct stat by_fd
    {};
    struct stat by_path
    {};
    if (::fstat(m_fd, &by_fd) != 0) {
      const int err = errno;
      ::flock(m_fd, LOCK_UN);
      return error(fmt::format("cannot write event log {}: {}", m_path, errno_text(err)));
    }
    size = static_cast<std::uint64_t>(by_fd.st_size);
    regular = S_ISREG(by_fd.st_mode);
    // A log that prune replaced or someone removed has no links left, which fstat tells
    // for free; one moved elsewhere is noticed by looking at the path, which costs a
    // syscall per append under load, so at most every k_path_recheck.
    const auto now = std::chrono::steady_clock::now();
    if (by_fd.st_nlink > 0 && now - m_shared->path_checked < k_path_recheck) {
      return {};
    }
    if (::stat(m_path.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
        by_fd.st_ino == by_path.st_ino) {
      m_shared->path_checked = now;
      return {};
    }
    if (attempt >= 3) {
      return {}; // something keeps swapping the file: write where we are
    }
    // `rag log prune` renamed a rewritten log over ours while we waited for the
    // lock (or the user removed it): a record written now would land in a file
    // nobody reads any more, so follow the path to the current file.
    ::flock(m_fd, LOCK_UN);
    RAG_TRY_ASSIGN(const int fd, open_log_for_append(m_path));
    ::close(m_fd);
    m_fd = fd;
    m_shared->size_after_write = std::numeric_limits<std::uint64_t>::max();
  }
}

Result<std::uint64_t>
EventLogWriter::repair_torn_tail(std::uint64_t size)
{
  std::string block(k_repair_block, '\0');
  std::uint64_t end = size;
  std::uint64_t keep = 0; // length of the good part: just past the last '\n'
  while (end > 0) {
    const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(end, block.size()));
    const ssize_t n = pread_full(m_fd, block.data(), amount, end - amount);
    if (n != static_cast<ssize_t>(amount)) {
      return error(fmt::format("cannot read event log {}: {}", m_path,
                               n < 0 ? errno_text(errno) : "unexpected end of file"));
    }
    const void* nl = ::memrchr(block.data(), '\n', amount);
    if (nl != nullptr) {
      keep = end - amount +
             static_cast<std::uint64_t>(static_cast<const char*>(nl) - block.data()) + 1;
      break;
    }
    end -= amount;
  }
  if (::ftruncate(m_fd, static_cast<off_t>(keep)) != 0) {
    return error(
        fmt::format("cannot repair torn last line of event log {}: {}", m_path, errno_text(errno)));
  }
  if (m_warn) {
    m_warn(fmt::format("repaired torn last line of {} ({} bytes dropped)", m_path, size - keep));
  }
  return keep;
}

// ---------------------------------------------------------------------------
// EventLogReader

EventLogReader::EventLogReader(std::string path, Warn warn)
    : m_path(std::move(path)), m_warn(std::move(warn))
{}

Result<std::uint64_t>
EventLogReader::for_each_line(const LineFn& fn, std::uint64_t start_offset) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_for_reading(m_path));
  if (!log.fd.valid()) {
    return start_offset;
  }
  RAG_TRY_ASSIGN(ForwardScan scan, scan_forward(m_path, log.fd.get(), start_offset, log.size, fn));
  return scan.end_offset;
}

Result<LineScan>
EventLogReader::scan_lines(const LineFn& fn) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_for_reading(m_path));
  if (!log.fd.valid()) {
    return LineScan{};
  }
  RAG_TRY_ASSIGN(LineScan scan, scan_log_lines(log.fd.get(), m_path, 0, log.size, fn));
  scan.tail_torn = scan.tail_bytes > 0 && confirm_torn_tail(log.fd.get(), log.size);
  return scan;
}

Result<void>
EventLogReader::for_each_line_reverse(const LineFn& fn) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_for_reading(m_path));
  if (!log.fd.valid()) {
    return {};
  }
  RAG_TRY(scan_reverse(
      m_path, log.fd.get(), log.size, [](const ReverseScan&) {}, fn));
  return {};
}

Result<std::uint64_t>
EventLogReader::for_each_record(const RecordFn& fn, const RawFilter& raw,
                                std::uint64_t start_offset, TornTail torn_tail) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_for_reading(m_path));
  if (!log.fd.valid()) {
    return start_offset;
  }
  const int fd = log.fd.get();
  const auto on_line = [&](const LogLine& line) {
    if (raw && !raw(line.text)) {
      return true;
    }
    auto record = parse_record(line.text);
    if (!record) {
      if (m_warn) {
        const auto number =
            line.number != 0 ? line.number : count_newlines_before(fd, line.offset) + 1;
        m_warn(fmt::format("{}:{}: skipped corrupt line ({})", m_path, number,
                           record.error().message));
      }
      return true;
    }
    return fn(std::move(record).value(), line);
  };
  RAG_TRY_ASSIGN(ForwardScan scan, scan_forward(m_path, fd, start_offset, log.size, on_line));
  if (!scan.stopped && scan.tail_bytes > 0 && torn_tail == TornTail::warn && m_warn &&
      confirm_torn_tail(fd, log.size)) {
    const auto number = scan.last_number != 0 ? scan.last_number + 1
                                              : count_newlines_before(fd, scan.end_offset) + 1;
    m_warn(fmt::format("{}:{}: skipped torn last line ({} bytes, no newline)", m_path, number,
                       scan.tail_bytes));
  }
  return scan.end_offset;
}

Result<void>
EventLogReader::for_each_record_reverse(const RecordFn& fn, const RawFilter& raw,
                                        TornTail torn_tail) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_for_reading(m_path));
  if (!log.fd.valid()) {
    return {};
  }
  const int fd = log.fd.get();
  const auto on_tail = [&](const ReverseScan& scan) {
    if (scan.tail_bytes == 0 || torn_tail != TornTail::warn || !m_warn ||
        !confirm_torn_tail(fd, scan.size)) {
      return;
    }
    m_warn(fmt::format("{}:{}: skipped torn last line ({} bytes, no newline)", m_path,
                       count_newlines_before(fd, scan.tail_offset) + 1, scan.tail_bytes));
  };
  const auto on_line = [&](const LogLine& line) {
    if (raw && !raw(line.text)) {
      return true;
    }
    auto record = parse_record(line.text);
    if (!record) {
      if (m_warn) {
        m_warn(fmt::format("{}:{}: skipped corrupt line ({})", m_path,
                           count_newlines_before(fd, line.offset) + 1, record.error().message));
      }
      return true;
    }
    return fn(std::move(record).value(), line);
  };
  RAG_TRY(scan_reverse(m_path, fd, log.size, on_tail, on_line));
  return {};
}

Result<Event>
EventLogReader::find_event(std::string_view prefix) const
{
  std::string_view rest = prefix;
  if (rest.substr(0, 4) == "evt_" || rest.substr(0, 4) == "EVT_") {
    rest.remove_prefix(4);
  }
  // Ids are upper-case Crockford base32; people type them in either case.
  std::string wanted = "evt_";
  for (const char c : rest) {
    wanted.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (rest.empty()) {
    return usage_error("an empty event id matches every event", "type some characters of the id");
  }
  // Looking for the serialised id field in the raw bytes avoids parsing every
  // line; only candidates are parsed, and then checked for real.
  const std::string needle = "\"id\":\"" + wanted;

  // At most k_listed + 1 distinct ids are kept (memory stays constant however
  // short the prefix); further matches are only counted.
  constexpr std::size_t k_listed = 5;
  std::vector<std::string> ids;
  std::size_t matches = 0;
  std::optional<Event> found;
  auto result = for_each_record(
      [&](Record&& record, const LogLine&) {
        auto* event = std::get_if<Event>(&record);
        if (event == nullptr || event->id.compare(0, wanted.size(), wanted) != 0) {
          return true;
        }
        if (std::find(ids.begin(), ids.end(), event->id) == ids.end()) {
          ++matches;
          if (ids.size() <= k_listed) {
            ids.push_back(event->id);
          }
        }
        if (!found) {
          found = std::move(*event);
        }
        return true;
      },
      // A line that certainly is no record is parsed too, only to be reported: this read
      // goes through the whole log, and should name its bad lines as a full scan does.
      [&](std::string_view text) {
        return text.find(needle) != std::string_view::npos || !may_be_record(text);
      });
  if (!result) {
    return result.error();
  }
  if (ids.empty()) {
    return error(fmt::format("no event matches '{}'", prefix), "run `rag inspect` to list events");
  }
  if (ids.size() > 1) {
    std::string list;
    for (std::size_t i = 0; i < ids.size() && i < k_listed; ++i) {
      list += (i == 0 ? "" : ", ") + ids[i];
    }
    if (ids.size() > k_listed) {
      list += fmt::format(", … ({} matches)", matches);
    }
    return error(fmt::format("event id prefix '{}' is ambiguous: {}", prefix, list),
                 "type more characters");
  }
  return std::move(*found);
}

} // namespace rag::core
