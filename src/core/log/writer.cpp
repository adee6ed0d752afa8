#include "core/log/writer.hpp"

#include "core/log/log_file.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <optional>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

#include <fmt/core.h>

namespace rag::core {

namespace {

using util::errno_text;
using util::FlockGuard;
using util::pread_full;

// The torn-tail search of a writer is usually satisfied by the first block.
constexpr std::size_t k_repair_block = 64 * 1024;

// One group-commit write: the lines appended while the previous one was running.
struct CommitBatch
{
  bool done = false;
  std::optional<Error> error;
};

} // namespace

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
  const int opened = m_fd;
  auto locked =
      lock_file_at_path(m_fd, m_path, LockFor::append, &shared.path_checked, k_path_recheck);
  if (m_fd != opened) {
    // The path named a new file (a prune's rewrite): nothing is known about its end.
    shared.size_after_write = std::numeric_limits<std::uint64_t>::max();
  }
  RAG_TRY(locked);
  std::uint64_t size = locked->size;
  FlockGuard unlock(m_fd);

  // A file that does not have the size our last write left was written by someone
  // else since: check it ends in a whole line.
  if (size > 0 && size != shared.size_after_write) {
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
      if (written > 0) {
        // Take back the partial write so the log stays whole (ENOSPC, EFBIG, ...).
        [[maybe_unused]] const int rc = ::ftruncate(m_fd, static_cast<off_t>(size));
      }
      return error(fmt::format("cannot write event log {}: {}", m_path, errno_text(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  shared.size_after_write = size + lines.size();
  return {};
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

} // namespace rag::core
