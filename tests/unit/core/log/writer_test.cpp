#include "core/log/writer.hpp"

#include "core/log/reader.hpp"

#include "support/fifo.hpp"
#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

namespace {

using rag::test::TempDir;

mode_t
mode_of(const std::string& path)
{
  struct stat st
  {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

TEST_CASE("writer: writer creates directories 0700 and the file 0600 whatever the umask")
{
  TempDir dir;
  const auto path = dir.file("a/b/events.jsonl");
  const mode_t old_umask = ::umask(0277);
  auto writer = EventLogWriter::open(path);
  ::umask(old_umask);
  REQUIRE(writer.ok());
  CHECK(mode_of(dir.file("a")) == 0700);
  CHECK(mode_of(dir.file("a/b")) == 0700);
  CHECK(mode_of(path) == 0600);
  CHECK(writer->path() == path);
  REQUIRE(writer->append("{\"x\":1}").ok());
  CHECK(read_file(path) == "{\"x\":1}\n");

  // Reopening an existing log appends to it.
  auto again = EventLogWriter::open(path);
  REQUIRE(again.ok());
  REQUIRE(again->append("{\"x\":2}").ok());
  CHECK(read_file(path) == "{\"x\":1}\n{\"x\":2}\n");
}

TEST_CASE("writer: an unwritable path is one clear error")
{
  TempDir dir;
  write_file(dir.file("plain"), "not a directory");

  auto under_file = EventLogWriter::open(dir.file("plain/sub/events.jsonl"));
  REQUIRE_FALSE(under_file.ok());
  CHECK(under_file.error().message ==
        fmt::format("cannot create event log directory {}: Not a directory", dir.file("plain")));
  CHECK(under_file.error().hint == "pass --log FILE with a writable path");
  CHECK(under_file.error().exit_code == 1);

  auto is_dir = EventLogWriter::open(dir.path());
  REQUIRE_FALSE(is_dir.ok());
  CHECK(is_dir.error().message ==
        fmt::format("event log {} is a directory, not a regular file", dir.path()));

  auto empty = EventLogWriter::open("");
  CHECK_FALSE(empty.ok());

  if (::geteuid() != 0) { // root ignores permission bits
    REQUIRE(::mkdir(dir.file("ro").c_str(), 0500) == 0);
    auto denied = EventLogWriter::open(dir.file("ro/events.jsonl"));
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().message ==
          fmt::format("cannot open event log {}: Permission denied", dir.file("ro/events.jsonl")));
  }
}

TEST_CASE("writer: append refuses a line with a newline and a moved-from writer")
{
  TempDir dir;
  auto writer = EventLogWriter::open(dir.file("events.jsonl"));
  REQUIRE(writer.ok());
  CHECK_FALSE(writer->append("{\"a\":1}\n{\"b\":2}").ok());
  EventLogWriter moved = std::move(writer).value();
  REQUIRE(moved.append("{}").ok());
  CHECK(read_file(dir.file("events.jsonl")) == "{}\n");
}

TEST_CASE("writer: writer repairs torn tails of any length")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string good = event_line(0) + "\n" + event_line(1) + "\n";

  for (const std::size_t torn_size : {std::size_t{1}, std::size_t{200'000}}) {
    CAPTURE(torn_size);
    for (const bool keep_good : {true, false}) {
      const std::string before = keep_good ? good : std::string();
      write_file(path, before + std::string(torn_size, 'x'));
      Warnings warnings;
      auto writer = EventLogWriter::open(path, warnings.fn());
      REQUIRE(writer.ok());
      REQUIRE(writer->append(event_line(2)).ok());
      REQUIRE(writer->append(event_line(3)).ok());
      CHECK(read_file(path) == before + event_line(2) + "\n" + event_line(3) + "\n");
      REQUIRE(warnings.list.size() == 1); // once: the second append finds a clean tail
      CHECK(warnings.list[0] ==
            fmt::format("repaired torn last line of {} ({} bytes dropped)", path, torn_size));
    }
  }
}

TEST_CASE("writer: a torn tail left by another writer between two appends is repaired")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  Warnings warnings;
  auto writer = EventLogWriter::open(path, warnings.fn());
  REQUIRE(writer.ok());
  REQUIRE(writer->append(event_line(0)).ok());
  // Another process crashed mid-line after our write: the writer must not trust
  // that the file still ends where its own last write ended.
  {
    std::ofstream other(path, std::ios::binary | std::ios::app);
    other << "{\"v\":1,\"kind\":\"ev";
  }
  REQUIRE(writer->append(event_line(1)).ok());
  CHECK(read_file(path) == event_line(0) + "\n" + event_line(1) + "\n");
  CHECK(warnings.list.size() == 1);
  // And a whole line from another process is kept, not cut.
  {
    std::ofstream other(path, std::ios::binary | std::ios::app);
    other << event_line(2) << "\n";
  }
  REQUIRE(writer->append(event_line(3)).ok());
  CHECK(read_file(path) ==
        event_line(0) + "\n" + event_line(1) + "\n" + event_line(2) + "\n" + event_line(3) + "\n");
  CHECK(warnings.list.size() == 1);
}

TEST_CASE("writer: a writer follows the path when the log is replaced or removed")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  REQUIRE(writer->append("{\"n\":1}").ok());

  // What `rag log prune` does: write a new file and rename it over the log.
  write_file(dir.file("events.jsonl.tmp"), "{\"kept\":true}\n");
  REQUIRE(::rename(dir.file("events.jsonl.tmp").c_str(), path.c_str()) == 0);
  REQUIRE(writer->append("{\"n\":2}").ok());
  CHECK(read_file(path) == "{\"kept\":true}\n{\"n\":2}\n");

  // Removed by hand: the next record starts a new log.
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(writer->append("{\"n\":3}").ok());
  CHECK(read_file(path) == "{\"n\":3}\n");
  CHECK(mode_of(path) == 0600);
}

TEST_CASE("writer: a log path naming a FIFO is refused at open")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  auto writer = EventLogWriter::open(path);
  REQUIRE_FALSE(writer.ok());
  CHECK(writer.error().message ==
        fmt::format("event log {} is a FIFO (named pipe), not a regular file", path));
  CHECK(writer.error().exit_code == 1);
  auto device = EventLogWriter::open("/dev/null");
  REQUIRE_FALSE(device.ok());
  CHECK(device.error().message == "event log /dev/null is a character device, not a regular file");
}

TEST_CASE("writer: a log swapped for a FIFO fails each append until a file is back")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  REQUIRE(writer->append("{\"n\":1}").ok());

  // Removed and replaced by a FIFO that someone reads: a record written there would be
  // gone (and the sender told 200), so the append fails instead.
  REQUIRE(::unlink(path.c_str()) == 0);
  const rag::util::Fd reader_end = make_held_fifo(path);
  const std::string message =
      fmt::format("event log {} is a FIFO (named pipe), not a regular file", path);
  for (int i = 0; i < 3; ++i) {
    auto appended = writer->append("{\"n\":2}");
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.error().message == message);
  }
  char byte = 0;
  CHECK(::read(reader_end.get(), &byte, 1) <= 0); // nothing reached the FIFO

  // Moved away (so it keeps its link) and replaced: noticed at the next look at the path.
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(writer->append("{\"n\":3}").ok());
  REQUIRE(::rename(path.c_str(), dir.file("moved.jsonl").c_str()) == 0);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  std::this_thread::sleep_for(EventLogWriter::k_path_recheck + std::chrono::milliseconds(20));
  auto appended = writer->append("{\"n\":4}");
  REQUIRE_FALSE(appended.ok());
  CHECK(appended.error().message == message);
  CHECK(read_file(dir.file("moved.jsonl")) == "{\"n\":3}\n");

  // A regular file in its place again: the writer goes on there.
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(writer->append("{\"n\":5}").ok());
  CHECK(read_file(path) == "{\"n\":5}\n");
}

TEST_CASE("writer: queued lines wait for the next append or flush")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  CHECK_FALSE(writer->has_queued());
  REQUIRE(writer->enqueue("{\"q\":1}").ok());
  CHECK(writer->has_queued());
  CHECK(read_file(path).empty());
  REQUIRE(writer->append("{\"a\":1}").ok());
  CHECK(read_file(path) == "{\"q\":1}\n{\"a\":1}\n");
  CHECK_FALSE(writer->has_queued());
  REQUIRE(writer->enqueue("{\"q\":2}").ok());
  REQUIRE(writer->flush().ok());
  CHECK(read_file(path) == "{\"q\":1}\n{\"a\":1}\n{\"q\":2}\n");
  CHECK(writer->flush().ok()); // nothing queued: nothing written
  CHECK_FALSE(writer->enqueue("two\nlines").ok());
  CHECK(read_file(path) == "{\"q\":1}\n{\"a\":1}\n{\"q\":2}\n");
}

TEST_CASE("writer: a writer follows a log moved away once it looks at the path again")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  REQUIRE(writer->append("{\"n\":1}").ok());
  REQUIRE(::rename(path.c_str(), dir.file("moved.jsonl").c_str()) == 0);
  // The moved file keeps its link, so only the periodic look at the path notices.
  std::this_thread::sleep_for(EventLogWriter::k_path_recheck + std::chrono::milliseconds(20));
  REQUIRE(writer->append("{\"n\":2}").ok());
  CHECK(read_file(dir.file("moved.jsonl")) == "{\"n\":1}\n");
  CHECK(read_file(path) == "{\"n\":2}\n");
}

TEST_CASE("writer: two processes appending at once never interleave lines")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  constexpr int k_per_process = 5000;
  int gate[2];
  REQUIRE(::pipe(gate) == 0);

  std::vector<pid_t> children;
  for (int child = 0; child < 2; ++child) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Child: wait for the gate so both processes write at the same time, then
      // report through the exit status only (no doctest in a forked child).
      ::close(gate[1]);
      char c = 0;
      while (::read(gate[0], &c, 1) > 0) {
      }
      auto writer = EventLogWriter::open(path);
      if (!writer.ok()) {
        ::_exit(2);
      }
      for (int i = 0; i < k_per_process; ++i) {
        auto e =
            make_event(fmt::format("evt_P{}_{:06}", child, i),
                       std::string(static_cast<std::size_t>(50 + (i * 37) % 900), 'a' + child));
        if (!writer->append(to_json_line(e)).ok()) {
          ::_exit(3);
        }
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]); // open the gate
  for (const pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  Warnings warnings;
  EventLogReader reader(path, warnings.fn());
  std::vector<int> next(2, 0);
  std::size_t lines = 0;
  bool in_order = true;
  REQUIRE(reader
              .for_each_record([&](Record&& record, const LogLine&) {
                ++lines;
                const auto& id = std::get<Event>(record).id;
                const int child = id[5] - '0';
                if (std::stoi(id.substr(7)) != next[static_cast<std::size_t>(child)]++) {
                  in_order = false;
                }
                return true;
              })
              .ok());
  CHECK(lines == 2 * k_per_process);
  CHECK(next == std::vector<int>{k_per_process, k_per_process});
  CHECK(in_order);
  CHECK(warnings.list.empty());
  CHECK(std::count(std::istreambuf_iterator<char>(*std::make_unique<std::ifstream>(path)),
                   std::istreambuf_iterator<char>(), '\n') == 2 * k_per_process);
}

TEST_CASE("writer: threads appending at once, through one writer and through several")
{
  // Many threads on one writer exercise group commit: several records per write().
  constexpr int k_threads = 8;
  constexpr int k_per_thread = 1500;
  for (const bool shared : {true, false}) {
    CAPTURE(shared);
    TempDir dir;
    const auto path = dir.file("events.jsonl");
    auto shared_writer = EventLogWriter::open(path);
    REQUIRE(shared_writer.ok());
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        std::optional<EventLogWriter> own;
        if (!shared) {
          auto opened = EventLogWriter::open(path);
          if (!opened.ok()) {
            ++failures;
            return;
          }
          own.emplace(std::move(opened).value());
        }
        EventLogWriter& writer = shared ? *shared_writer : *own;
        for (int i = 0; i < k_per_thread; ++i) {
          auto e = make_event(fmt::format("evt_T{}_{:06}", t, i),
                              std::string(static_cast<std::size_t>(10 + (i * 53) % 700), 'q'));
          if (!writer.append(to_json_line(e)).ok()) {
            ++failures;
          }
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(failures == 0);
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::size_t count = 0;
    std::vector<int> next(k_threads, 0); // each thread's records appear in its order
    bool in_order = true;
    REQUIRE(reader
                .for_each_record([&](Record&& record, const LogLine&) {
                  ++count;
                  const auto& id = std::get<Event>(record).id;
                  const int t = id[5] - '0';
                  in_order = in_order && id == fmt::format("evt_T{}_{:06}", t, next[t]);
                  ++next[t];
                  return true;
                })
                .ok());
    CHECK(count == std::size_t{k_threads} * k_per_thread);
    CHECK(in_order);
    CHECK(warnings.list.empty());
  }
}
