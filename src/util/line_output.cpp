#include "util/line_output.hpp"

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace rag::util {

namespace {

// How far writers may get ahead of the fd, in multiples of the bound, before they wait.
constexpr std::size_t k_backlog_bounds = 4;

// Write `first` then `second` completely, retrying partial writes and EINTR; return
// false on any other error. One writev() when the fd takes it all, as it nearly always does.
bool
write_all(int fd, std::string_view first, std::string_view second)
{
  iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                    {const_cast<char*>(second.data()), second.size()}};
  iovec* next = parts;
  int left = 2;
  while (left > 0 && next->iov_len == 0) {
    ++next;
    --left;
  }
  while (left > 0) {
    const ssize_t written = ::writev(fd, next, left);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Someone made the fd non-blocking: wait as a blocking write would.
        pollfd ready{fd, POLLOUT, 0};
        ::poll(&ready, 1, -1);
        continue;
      }
      return false;
    }
    auto done = static_cast<std::size_t>(written);
    while (left > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --left;
    }
    if (left > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
  return true;
}

} // namespace

LineOutput::Mode
LineOutput::mode_for(int fd)
{
  return ::isatty(fd) == 1 ? Mode::immediate : Mode::batched;
}

LineOutput::LineOutput(int fd, std::chrono::milliseconds delay)
    : LineOutput(fd, mode_for(fd), delay)
{}

LineOutput::LineOutput(int fd, Mode mode, std::chrono::milliseconds delay, std::size_t bound)
    : m_fd(fd), m_mode(mode), m_delay(delay), m_bound(bound == 0 ? 1 : bound)
{
  if (m_mode == Mode::batched) {
    m_thread = std::thread([this] { run(); });
  }
}

LineOutput::~LineOutput()
{
  if (!m_thread.joinable()) {
    return;
  }
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  // The thread writes whatever is left before it ends.
  m_thread.join();
}

void
LineOutput::write(std::string_view line)
{
  if (m_failed.load(std::memory_order_relaxed)) {
    return;
  }
  if (m_mode == Mode::immediate) {
    std::lock_guard lock(m_mutex);
    if (!m_failed.load(std::memory_order_relaxed) && !write_all(m_fd, line, "\n")) {
      m_failed = true;
    }
    return;
  }

  bool notify = false;
  {
    std::unique_lock lock(m_mutex);
    // Far ahead of a slow reader: wait for it rather than grow without bound.
    m_progress.wait(
        lock, [this] { return m_buffer.size() < k_backlog_bounds * m_bound || m_failed.load(); });
    if (m_failed.load(std::memory_order_relaxed)) {
      return;
    }
    const bool first = m_buffer.empty();
    if (first) {
      m_first_at = std::chrono::steady_clock::now();
    }
    m_buffer.append(line);
    m_buffer.push_back('\n');
    const bool was_urgent = m_urgent;
    m_urgent = m_urgent || m_buffer.size() >= m_bound;
    // Only a new batch or a full one needs the thread: the rest ride along, so the
    // cost of waking it is paid once per batch, not once per line.
    notify = first || (m_urgent && !was_urgent);
  }
  if (notify) {
    m_wake.notify_one();
  }
}

void
LineOutput::flush()
{
  if (m_mode == Mode::immediate) {
    return; // every line is written already
  }
  std::string batch;
  {
    std::unique_lock lock(m_mutex);
    // A batch being written holds older lines: they go first.
    m_progress.wait(lock, [this] { return !m_writing; });
    if (m_buffer.empty()) {
      return;
    }
    batch.swap(m_buffer);
    m_urgent = false;
    m_writing = true;
  }
  // The background thread's batch is gone: let it go back to sleep, and let writers
  // that waited for room go on.
  m_wake.notify_one();
  m_progress.notify_all();
  write_batch(batch);
}

void
LineOutput::write_batch(std::string& batch)
{
  const bool written = m_failed.load() || write_all(m_fd, batch, {});
  {
    std::lock_guard lock(m_mutex);
    if (!written) {
      m_failed = true;
      m_buffer.clear(); // dropped: nobody reads it any more
    }
    m_writing = false;
  }
  batch.clear();
  m_progress.notify_all();
}

void
LineOutput::run()
{
  // Swapped with m_buffer, so both keep their capacity and no batch allocates.
  std::string batch;
  std::unique_lock lock(m_mutex);
  for (;;) {
    // Idle: sleep until a batch begins, with no periodic wake-ups.
    m_wake.wait(lock, [this] { return m_stopping || !m_buffer.empty(); });
    if (m_buffer.empty()) {
      return; // stopping, and everything is written
    }
    // Let more lines join, up to the delay after the first one unless told to hurry.
    // m_first_at is re-read each time: a flush() may have taken the batch meanwhile.
    while (!m_stopping && !m_urgent && !m_buffer.empty()) {
      const auto deadline = m_first_at + m_delay;
      if (std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      m_wake.wait_until(lock, deadline);
    }
    if (m_writing) {
      // A flush() is writing older lines. Once it is done, start over: what is buffered
      // then may be a newer batch whose delay has not run out.
      m_progress.wait(lock, [this] { return !m_writing; });
      continue;
    }
    if (m_buffer.empty()) {
      continue; // a flush() wrote it
    }
    batch.swap(m_buffer);
    m_urgent = false;
    m_writing = true;
    lock.unlock();
    m_progress.notify_all();
    write_batch(batch);
    lock.lock();
  }
}

} // namespace rag::util
