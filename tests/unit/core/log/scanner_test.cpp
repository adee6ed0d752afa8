#include "core/log/scanner.hpp"

#include "core/log/reader.hpp"
#include "core/log/writer.hpp"

#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

TEST_CASE("scanner: reading at every truncation length returns exactly the whole lines")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  std::vector<std::string> lines;
  std::string full;
  std::vector<std::size_t> ends; // offset just past each line
  for (int i = 0; i < 5; ++i) {
    lines.push_back(event_line(i));
    full += lines.back() + "\n";
    ends.push_back(full.size());
  }

  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    CAPTURE(cut);
    // A fresh file each time: truncating one in place makes ext4 flush it, slowly.
    std::filesystem::remove(path);
    write_file(path, std::string_view(full).substr(0, cut));
    const auto whole = static_cast<std::size_t>(
        std::count(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut), '\n'));
    const std::size_t boundary = whole == 0 ? 0 : ends[whole - 1];
    const std::vector<std::string> expected(lines.begin(),
                                            lines.begin() + static_cast<std::ptrdiff_t>(whole));
    auto expected_reverse = expected;
    std::reverse(expected_reverse.begin(), expected_reverse.end());

    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::uint64_t end = 0;
    CHECK(lines_forward(reader, &end) == expected);
    CHECK(end == boundary);
    CHECK(lines_reverse(reader) == expected_reverse);
    CHECK(warnings.list.empty()); // raw line readers never warn

    std::vector<std::string> expected_ids;
    for (std::size_t i = 0; i < whole; ++i) {
      expected_ids.push_back(fmt::format("evt_{:026}", i));
    }
    auto expected_ids_reverse = expected_ids;
    std::reverse(expected_ids_reverse.begin(), expected_ids_reverse.end());
    const std::string torn_warning = fmt::format(
        "{}:{}: skipped torn last line ({} bytes, no newline)", path, whole + 1, cut - boundary);

    CHECK(event_ids(reader, false) == expected_ids);
    CHECK(event_ids(reader, true) == expected_ids_reverse);
    if (cut == boundary) {
      CHECK(warnings.list.empty());
    } else {
      REQUIRE(warnings.list.size() == 2);
      CHECK(warnings.list[0] == torn_warning);
      CHECK(warnings.list[1] == torn_warning);
    }

    // A follower that ignores the torn tail is told nothing.
    warnings.list.clear();
    CHECK(event_ids(reader, false, TornTail::ignore) == expected_ids);
    CHECK(event_ids(reader, true, TornTail::ignore) == expected_ids_reverse);
    CHECK(warnings.list.empty());

    // The next writer cuts the torn tail and appends after the whole lines.
    Warnings writer_warnings;
    auto writer = EventLogWriter::open(path, writer_warnings.fn());
    REQUIRE(writer.ok());
    REQUIRE(writer->append("{\"new\":true}").ok());
    CHECK(read_file(path) == full.substr(0, boundary) + "{\"new\":true}\n");
    if (cut == boundary) {
      CHECK(writer_warnings.list.empty());
    } else {
      REQUIRE(writer_warnings.list.size() == 1);
      CHECK(writer_warnings.list[0] ==
            fmt::format("repaired torn last line of {} ({} bytes dropped)", path, cut - boundary));
    }
  }
}

TEST_CASE("scanner: a line being written under the lock is not reported as torn")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string line = event_line(1);
  write_file(path, event_line(0) + "\n" + line.substr(0, 10));

  // Play a writer that holds the lock in the middle of its write.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);

  Warnings warnings;
  std::vector<std::string> ids;
  std::atomic<bool> done{false};
  std::thread reader_thread([&] {
    EventLogReader reader(path, warnings.fn());
    ids = event_ids(reader, false);
    done = true;
  });
  // Wait (bounded) until the reader blocks on our file's lock, which /proc/locks
  // shows as "N: -> FLOCK ADVISORY READ PID MAJ:MIN:INODE 0 EOF".
  struct stat st
  {};
  REQUIRE(::fstat(fd, &st) == 0);
  const std::string inode = fmt::format(":{} ", st.st_ino);
  const bool have_proc_locks = !read_file("/proc/locks").empty();
  bool saw_blocked = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (have_proc_locks && !done && std::chrono::steady_clock::now() < deadline) {
    std::istringstream locks(read_file("/proc/locks"));
    for (std::string entry; std::getline(locks, entry);) {
      if (entry.find("-> FLOCK") != std::string::npos && entry.find(inode) != std::string::npos) {
        saw_blocked = true;
      }
    }
    if (saw_blocked) {
      break;
    }
    std::this_thread::yield();
  }
  CHECK(saw_blocked == have_proc_locks);
  const std::string rest = line.substr(10) + "\n";
  REQUIRE(::write(fd, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  ::flock(fd, LOCK_UN);
  ::close(fd);
  reader_thread.join();

  CHECK(warnings.list.empty());
  CHECK(ids.size() >= 1);
}

TEST_CASE("scanner: lines longer than the read block, forward and reverse")
{
  TempDir dir;
  const auto path = dir.file("big.jsonl");
  constexpr std::size_t k_mib = 1 << 20;
  std::vector<std::string> lines;
  std::size_t n = 0;
  for (const std::size_t size : {std::size_t{10}, 5 * k_mib / 2, std::size_t{5}, k_mib, k_mib - 1,
                                 k_mib + 1, std::size_t{0}, std::size_t{3}, 3 * k_mib}) {
    std::string line = fmt::format("#{}:", n++);
    line.resize(std::max(size, line.size()), 'a' + static_cast<char>(n % 26));
    lines.push_back(line);
  }
  std::string content;
  for (const auto& line : lines) {
    content += line + "\n";
  }
  write_file(path, content + std::string(k_mib + 7, 't')); // and a long torn tail

  EventLogReader reader(path);
  std::uint64_t end = 0;
  CHECK(lines_forward(reader, &end) == lines);
  CHECK(end == content.size());
  auto reversed = lines;
  std::reverse(reversed.begin(), reversed.end());
  CHECK(lines_reverse(reader) == reversed);
}

TEST_CASE("scanner: scan_lines reports the tail and numbers the lines")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  write_file(path, "a\nbb\nccc");
  std::vector<std::uint64_t> numbers;
  auto scan = EventLogReader(path).scan_lines([&](const LogLine& line) {
    numbers.push_back(line.number);
    return true;
  });
  REQUIRE(scan);
  CHECK(numbers == std::vector<std::uint64_t>{1, 2});
  CHECK(scan->exists);
  CHECK(scan->size == 8);
  CHECK(scan->lines == 2);
  CHECK(scan->end_offset == 5);
  CHECK(scan->tail_bytes == 3);
  CHECK(scan->tail_torn);

  write_file(path, "a\nbb\n");
  scan = EventLogReader(path).scan_lines([](const LogLine&) { return true; });
  REQUIRE(scan);
  CHECK(scan->tail_bytes == 0);
  CHECK_FALSE(scan->tail_torn);

  // Stopping early reports no tail.
  write_file(path, "a\nbb\nccc");
  scan = EventLogReader(path).scan_lines([](const LogLine&) { return false; });
  REQUIRE(scan);
  CHECK(scan->lines == 1);
  CHECK(scan->tail_bytes == 0);

  scan = EventLogReader(dir.file("missing")).scan_lines([](const LogLine&) { return true; });
  REQUIRE(scan);
  CHECK_FALSE(scan->exists);
}
