#include "util/line_output.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <fmt/core.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace rag;
using namespace std::chrono_literals;
using util::LineOutput;

namespace {

// Both ends of a pipe, closed at scope exit; the read end is non-blocking.
struct Pipe
{
  Pipe()
  {
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
  }
  ~Pipe()
  {
    close_reader();
    close_writer();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  int reader() const { return fds[0]; }
  int writer() const { return fds[1]; }
  void close_reader() { close_end(0); }
  void close_writer() { close_end(1); }

  // Return what can be read now, without waiting.
  std::string read_available() const
  {
    std::string text;
    char chunk[4096];
    for (;;) {
      const ssize_t got = ::read(fds[0], chunk, sizeof chunk);
      if (got <= 0) {
        return text;
      }
      text.append(chunk, static_cast<std::size_t>(got));
    }
  }

  // Return true when something can be read within `limit`.
  bool readable_within(std::chrono::milliseconds limit) const
  {
    pollfd ready{fds[0], POLLIN, 0};
    return ::poll(&ready, 1, static_cast<int>(limit.count())) == 1;
  }

  // Read until the write end is closed (waiting as needed); return everything.
  std::string read_to_eof() const
  {
    std::string text;
    char chunk[4096];
    for (;;) {
      const ssize_t got = ::read(fds[0], chunk, sizeof chunk);
      if (got == 0) {
        return text;
      }
      if (got < 0) {
        REQUIRE((errno == EAGAIN || errno == EINTR));
        pollfd ready{fds[0], POLLIN, 0};
        ::poll(&ready, 1, 1000);
        continue;
      }
      text.append(chunk, static_cast<std::size_t>(got));
    }
  }

  int fds[2] = {-1, -1};

private:
  void close_end(int end)
  {
    if (fds[end] >= 0) {
      ::close(fds[end]);
      fds[end] = -1;
    }
  }
};

// Ignores SIGPIPE while alive, as rag's main does, so that writes to a closed pipe
// fail with EPIPE instead of ending the test binary.
struct IgnoreSigpipe
{
  IgnoreSigpipe() { m_previous = std::signal(SIGPIPE, SIG_IGN); }
  ~IgnoreSigpipe() { std::signal(SIGPIPE, m_previous); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

private:
  void (*m_previous)(int) = SIG_DFL;
};

// The line thread `thread` writes as its `seq`th; lengths vary so that batches and
// partial writes cut lines at many places.
std::string
numbered_line(int thread, int seq)
{
  return fmt::format("t{} n{} {}", thread, seq,
                     std::string(static_cast<std::size_t>((thread * 7 + seq) % 61), 'x'));
}

std::vector<std::string>
split_lines(const std::string& text)
{
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    REQUIRE(end != std::string::npos); // the output ends with a whole line
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Check that `text` holds every numbered line of `threads` x `per_thread` exactly once,
// whole, and each thread's lines in the order it wrote them.
void
check_numbered_lines(const std::string& text, int threads, int per_thread)
{
  const std::vector<std::string> lines = split_lines(text);
  CHECK(lines.size() == static_cast<std::size_t>(threads * per_thread));
  std::vector<int> next(static_cast<std::size_t>(threads), 0);
  for (const auto& line : lines) {
    int thread = -1;
    int seq = -1;
    REQUIRE(std::sscanf(line.c_str(), "t%d n%d", &thread, &seq) == 2);
    REQUIRE(thread >= 0);
    REQUIRE(thread < threads);
    auto& expected = next[static_cast<std::size_t>(thread)];
    REQUIRE(seq == expected);                    // in order, none missing, none twice
    REQUIRE(line == numbered_line(thread, seq)); // not torn, not mixed with another
    ++expected;
  }
  for (int thread = 0; thread < threads; ++thread) {
    CHECK(next[static_cast<std::size_t>(thread)] == per_thread);
  }
}

// Write `per_thread` numbered lines from each of `threads` threads at once; when
// `flush_every` is not 0, each thread also flushes after that many lines.
void
write_from_threads(LineOutput& out, int threads, int per_thread, int flush_every)
{
  std::atomic<bool> go{false};
  std::vector<std::thread> writers;
  for (int thread = 0; thread < threads; ++thread) {
    writers.emplace_back([&, thread] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      for (int seq = 0; seq < per_thread; ++seq) {
        out.write(numbered_line(thread, seq));
        if (flush_every != 0 && seq % flush_every == flush_every - 1) {
          out.flush();
        }
      }
    });
  }
  go = true;
  for (auto& writer : writers) {
    writer.join();
  }
}

std::string
read_file(const std::string& path)
{
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  char chunk[8192];
  ssize_t got = 0;
  while ((got = ::read(fd, chunk, sizeof chunk)) > 0) {
    text.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return text;
}

} // namespace

TEST_CASE("line_output: a terminal gets immediate mode, a pipe and a file batched mode")
{
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  REQUIRE(terminal >= 0);
  CHECK(LineOutput::mode_for(terminal) == LineOutput::Mode::immediate);
  {
    LineOutput out(terminal);
    CHECK(out.mode() == LineOutput::Mode::immediate);
  }
  ::close(terminal);
  ::close(master);

  Pipe pipe;
  CHECK(LineOutput::mode_for(pipe.writer()) == LineOutput::Mode::batched);
  LineOutput piped(pipe.writer());
  CHECK(piped.mode() == LineOutput::Mode::batched);

  test::TempDir dir;
  const int file = ::open(dir.file("out").c_str(), O_WRONLY | O_CREAT, 0600);
  REQUIRE(file >= 0);
  CHECK(LineOutput::mode_for(file) == LineOutput::Mode::batched);
  ::close(file);
}

TEST_CASE("line_output: lines from 8 threads arrive whole, once each and in each thread's order")
{
  struct Setup
  {
    const char* name;
    LineOutput::Mode mode;
    std::chrono::milliseconds delay;
    std::size_t bound;
    int flush_every;
  };
  const Setup setups[] = {
      {"immediate", LineOutput::Mode::immediate, 50ms, LineOutput::k_default_bound, 0},
      {"batched", LineOutput::Mode::batched, 50ms, LineOutput::k_default_bound, 0},
      // Short delays, a small bound (batches written early) and flushes between the
      // background writes: the order must survive all of them.
      {"batched, small bound, flushes", LineOutput::Mode::batched, 1ms, 2048, 97},
  };
  for (const Setup& setup : setups) {
    CAPTURE(setup.name);
    test::TempDir dir;
    const std::string path = dir.file("out");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    {
      LineOutput out(fd, setup.mode, setup.delay, setup.bound);
      write_from_threads(out, 8, 1000, setup.flush_every);
    }
    ::close(fd);
    check_numbered_lines(read_file(path), 8, 1000);
  }
}

TEST_CASE("line_output: lines through a pipe with a slow reader arrive whole and in order")
{
  Pipe pipe;
  std::string received;
  std::thread reader([&] { received = pipe.read_to_eof(); });
  {
    LineOutput out(pipe.writer(), LineOutput::Mode::batched, 1ms, 1024);
    write_from_threads(out, 4, 5000, 0);
  }
  pipe.close_writer();
  reader.join();
  check_numbered_lines(received, 4, 5000);
}

TEST_CASE("line_output: a writer far ahead of the reader waits for it instead of buffering")
{
  Pipe pipe;
  constexpr int k_lines = 20'000; // about 1.5 MiB: far more than the pipe and 4 bounds hold
  std::atomic<int> written{0};
  std::string received;
  {
    LineOutput out(pipe.writer(), LineOutput::Mode::batched, 1ms, 4096);
    std::thread writer([&] {
      for (int seq = 0; seq < k_lines; ++seq) {
        out.write(numbered_line(0, seq) + std::string(16, 'y'));
        written = seq + 1;
      }
    });
    // Nobody reads yet: once the pipe is full the writer must be held back.
    std::this_thread::sleep_for(300ms);
    CHECK(written.load() < k_lines);
    std::thread reader([&] { received = pipe.read_to_eof(); });
    writer.join();
    out.flush();
    pipe.close_writer(); // the reader sees EOF once everything flushed is read
    reader.join();
  }
  const std::vector<std::string> lines = split_lines(received);
  REQUIRE(lines.size() == static_cast<std::size_t>(k_lines));
  for (int seq = 0; seq < k_lines; ++seq) {
    REQUIRE(lines[static_cast<std::size_t>(seq)] == numbered_line(0, seq) + std::string(16, 'y'));
  }
}

TEST_CASE("line_output: batched mode writes nothing before the delay and everything on flush")
{
  Pipe pipe;
  LineOutput out(pipe.writer(), LineOutput::Mode::batched, 10s);
  out.write("first");
  out.write("second");
  out.write("");
  out.write("third");
  CHECK_FALSE(pipe.readable_within(200ms));
  out.flush();
  // flush() returns once the lines are written: no waiting needed to read them.
  CHECK(pipe.read_available() == "first\nsecond\n\nthird\n");

  // A flush with nothing buffered writes nothing; the next lines start a new batch.
  out.flush();
  CHECK(pipe.read_available().empty());
  out.write("fourth");
  CHECK_FALSE(pipe.readable_within(100ms));
  out.flush();
  CHECK(pipe.read_available() == "fourth\n");
  CHECK_FALSE(out.failed());
}

TEST_CASE("line_output: batched mode writes a batch by itself once the delay is over")
{
  Pipe pipe;
  LineOutput out(pipe.writer(), LineOutput::Mode::batched, 20ms);
  out.write("alpha");
  out.write("beta");
  std::string text;
  while (text.size() < 11 && pipe.readable_within(10'000ms)) {
    text += pipe.read_available();
  }
  CHECK(text == "alpha\nbeta\n");

  // An idle writer wakes up again for the next line.
  out.write("gamma");
  REQUIRE(pipe.readable_within(10'000ms));
  CHECK(pipe.read_available() == "gamma\n");
}

TEST_CASE("line_output: batched mode writes at once when the bound is reached")
{
  Pipe pipe;
  // A delay far longer than the waits below: only the bound can get the lines out.
  LineOutput out(pipe.writer(), LineOutput::Mode::batched, 10min, 64);
  out.write("short");
  CHECK_FALSE(pipe.readable_within(100ms));
  const std::string long_line(100, 'z');
  out.write(long_line);
  // The bound cut the delay short.
  REQUIRE(pipe.readable_within(10'000ms));
  std::string text;
  while (text.size() < 6 + 101 && pipe.readable_within(10'000ms)) {
    text += pipe.read_available();
  }
  CHECK(text == "short\n" + long_line + "\n");
}

TEST_CASE("line_output: the destructor writes what is buffered without waiting out the delay")
{
  Pipe pipe;
  const auto started = std::chrono::steady_clock::now();
  {
    LineOutput out(pipe.writer(), LineOutput::Mode::batched, 10s);
    out.write("kept 1");
    out.write("kept 2");
    CHECK(pipe.read_available().empty());
  }
  // Far less than the 10 s delay: the destructor cut it short instead of waiting.
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(pipe.read_available() == "kept 1\nkept 2\n");
}

TEST_CASE("line_output: immediate mode writes each line before write() returns")
{
  Pipe pipe;
  LineOutput out(pipe.writer(), LineOutput::Mode::immediate);
  out.write("one");
  CHECK(pipe.read_available() == "one\n");
  out.write("two");
  out.write("three");
  CHECK(pipe.read_available() == "two\nthree\n");
  out.flush();
  CHECK(pipe.read_available().empty());
}

TEST_CASE("line_output: a closed reader drops the output without failing or hanging the writer")
{
  IgnoreSigpipe ignore;
  for (const auto mode : {LineOutput::Mode::immediate, LineOutput::Mode::batched}) {
    CAPTURE(static_cast<int>(mode));
    Pipe pipe;
    pipe.close_reader();
    {
      LineOutput out(pipe.writer(), mode, 10s);
      out.write("lost");
      out.flush();
      CHECK(out.failed());
      // Later lines go nowhere, quickly: far more than a pipe could hold.
      for (int i = 0; i < 100'000; ++i) {
        out.write(std::string(100, 'q'));
      }
      out.flush();
      CHECK(out.failed());
    }
  }

  // The reader goes away while lines are being written from several threads.
  Pipe pipe;
  std::thread reader([&] {
    char chunk[1024];
    while (::read(pipe.reader(), chunk, sizeof chunk) <= 0) {
      pollfd ready{pipe.reader(), POLLIN, 0};
      ::poll(&ready, 1, 1000);
    }
    pipe.close_reader();
  });
  {
    LineOutput out(pipe.writer(), LineOutput::Mode::batched, 1ms, 1024);
    write_from_threads(out, 4, 20'000, 0);
    reader.join();
    out.write("after the reader left");
    out.flush();
    CHECK(out.failed());
  }
}
