#pragma once

// Whole lines to a file descriptor from many threads, one write() per line on a
// terminal (people watch it live) and one write() per batch elsewhere (files, pipes:
// there the syscall per line costs more than anyone gains from it).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace rag::util {

// A thread-safe writer of whole lines to a file descriptor it does not own. Lines are
// never torn or interleaved and keep the order in which write() returned. A failed
// write (EPIPE from a closed pipe, a full disk) drops that output and everything after
// it, silently; the process must ignore SIGPIPE (rag's main does) or it dies as with
// any write to a closed pipe.
class LineOutput
{
public:
  enum class Mode {
    immediate, // each line written by write(), before it returns
    batched,   // lines gathered and written by a background thread, a batch at a time
  };

  static constexpr std::chrono::milliseconds k_default_delay{50};
  static constexpr std::size_t k_default_bound = 256 * 1024;

  // Return `immediate` for a terminal, `batched` for anything else (a file, a pipe).
  static Mode mode_for(int fd);

  // Write lines to `fd` in the mode mode_for(fd) chooses.
  explicit LineOutput(int fd, std::chrono::milliseconds delay = k_default_delay);
  // Write lines to `fd` in `mode`; a batch is written at most `delay` after its first
  // line arrived, or at once when `bound` bytes wait. Writers that get `4 * bound`
  // bytes ahead of a slow reader wait for it (as a blocking write would).
  LineOutput(int fd, Mode mode, std::chrono::milliseconds delay = k_default_delay,
             std::size_t bound = k_default_bound);
  // Write what is buffered and stop the background thread.
  ~LineOutput();
  LineOutput(const LineOutput&) = delete;
  LineOutput& operator=(const LineOutput&) = delete;

  // Write `line` and a newline: now in immediate mode, within the delay in batched
  // mode. Safe from many threads; never throws on an I/O error.
  void write(std::string_view line);

  // Write everything write() accepted before this call, after any batch being written,
  // and return once it is written (or dropped after an error).
  void flush();

  Mode mode() const { return m_mode; }

  // True once a write failed: that output and everything after it was dropped.
  bool failed() const { return m_failed.load(std::memory_order_relaxed); }

private:
  void run();
  void write_batch(std::string& batch);

  const int m_fd;
  const Mode m_mode;
  const std::chrono::milliseconds m_delay;
  const std::size_t m_bound;
  std::atomic<bool> m_failed{false};

  std::mutex m_mutex;
  std::condition_variable m_wake;     // the background thread: a batch began, or hurry
  std::condition_variable m_progress; // a batch was taken or written
  std::string m_buffer;               // lines not yet taken for writing
  std::chrono::steady_clock::time_point m_first_at; // when m_buffer's first line came
  bool m_urgent = false;                            // write m_buffer without waiting
  bool m_writing = false;  // a batch is being written (one at a time keeps the order)
  bool m_stopping = false; // the destructor runs
  std::thread m_thread;    // batched mode only
};

} // namespace rag::util
