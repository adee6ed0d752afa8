#include "core/event_log.hpp"

#include "core/record_json.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;

namespace {

using rag::test::TempDir;

std::string
read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void
write_file(const std::string& path, std::string_view content)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  REQUIRE(out.good());
}

// Collects warnings given to a reader or writer.
struct Warnings
{
  std::vector<std::string> list;
  std::function<void(const std::string&)> fn()
  {
    return [this](const std::string& message) { list.push_back(message); };
  }
};

Event
make_event(const std::string& id, const std::string& body)
{
  Event e;
  e.id = id;
  e.time_us = 1795675527123456;
  e.source = "listen:127.0.0.1:7777";
  e.remote = "127.0.0.1:50000";
  e.method = "POST";
  e.target = "/hook?n=" + id;
  e.http_version = "HTTP/1.1";
  e.headers = {{"Host", "x"}, {"Content-Type", "application/json"}, {"X-Empty", ""}};
  e.body = body;
  return e;
}

std::string
event_line(int i)
{
  // Varied bodies: text, binary, empty, long.
  std::string body;
  switch (i % 4) {
  case 0: body = fmt::format("{{\"n\":{}}}", i); break;
  case 1: body = std::string("\0\xff\x01 bin", 7); break;
  case 2: break;
  default: body = std::string(static_cast<std::size_t>(100 + i), 'z'); break;
  }
  return to_json_line(make_event(fmt::format("evt_{:026}", i), body));
}

std::vector<std::string>
lines_forward(const EventLogReader& reader, std::uint64_t* end = nullptr, std::uint64_t start = 0)
{
  std::vector<std::string> lines;
  auto result = reader.for_each_line(
      [&](const LogLine& line) {
        lines.emplace_back(line.text);
        return true;
      },
      start);
  REQUIRE(result.ok());
  if (end != nullptr) {
    *end = *result;
  }
  return lines;
}

std::vector<std::string>
lines_reverse(const EventLogReader& reader)
{
  std::vector<std::string> lines;
  auto result = reader.for_each_line_reverse([&](const LogLine& line) {
    lines.emplace_back(line.text);
    return true;
  });
  REQUIRE(result.ok());
  return lines;
}

std::vector<std::string>
event_ids(const EventLogReader& reader, bool reverse, TornTail torn = TornTail::warn)
{
  std::vector<std::string> ids;
  const auto collect = [&](Record&& record, const LogLine&) {
    ids.push_back(std::get<Event>(record).id);
    return true;
  };
  if (reverse) {
    REQUIRE(reader.for_each_record_reverse(collect, {}, torn).ok());
  } else {
    REQUIRE(reader.for_each_record(collect, {}, 0, torn).ok());
  }
  return ids;
}

mode_t
mode_of(const std::string& path)
{
  struct stat st
  {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

TEST_CASE("event_log: default path follows XDG_STATE_HOME, then HOME")
{
  const char* old_state = std::getenv("XDG_STATE_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_state = old_state != nullptr ? old_state : "";
  const std::string saved_home = old_home != nullptr ? old_home : "";

  ::setenv("XDG_STATE_HOME", "/state", 1);
  CHECK(default_log_path() == "/state/rag/events.jsonl");
  ::setenv("XDG_STATE_HOME", "relative/ignored", 1);
  ::setenv("HOME", "/home/dev", 1);
  CHECK(default_log_path() == "/home/dev/.local/state/rag/events.jsonl");
  ::unsetenv("XDG_STATE_HOME");
  CHECK(default_log_path() == "/home/dev/.local/state/rag/events.jsonl");
  ::unsetenv("HOME");
  const auto from_passwd = default_log_path();
  CHECK(from_passwd.size() > std::string("/.local/state/rag/events.jsonl").size());
  CHECK(from_passwd.find("/.local/state/rag/events.jsonl") != std::string::npos);

  if (old_state != nullptr) {
    ::setenv("XDG_STATE_HOME", saved_state.c_str(), 1);
  }
  if (old_home != nullptr) {
    ::setenv("HOME", saved_home.c_str(), 1);
  }
}

TEST_CASE("event_log: writer creates directories 0700 and the file 0600 whatever the umask")
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

TEST_CASE("event_log: an unwritable path is one clear error")
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
        fmt::format("cannot open event log {}: Is a directory", dir.path()));

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

TEST_CASE("event_log: append refuses a line with a newline and a moved-from writer")
{
  TempDir dir;
  auto writer = EventLogWriter::open(dir.file("events.jsonl"));
  REQUIRE(writer.ok());
  CHECK_FALSE(writer->append("{\"a\":1}\n{\"b\":2}").ok());
  EventLogWriter moved = std::move(writer).value();
  REQUIRE(moved.append("{}").ok());
  CHECK(read_file(dir.file("events.jsonl")) == "{}\n");
}

TEST_CASE("event_log: a missing file reads as empty")
{
  TempDir dir;
  Warnings warnings;
  EventLogReader reader(dir.file("nope.jsonl"), warnings.fn());
  std::uint64_t end = 99;
  CHECK(lines_forward(reader, &end).empty());
  CHECK(end == 0);
  CHECK(lines_reverse(reader).empty());
  CHECK(event_ids(reader, false).empty());
  CHECK(event_ids(reader, true).empty());
  CHECK(warnings.list.empty());
  auto found = reader.find_event("0");
  REQUIRE_FALSE(found.ok());
  CHECK(found.error().message == "no event matches '0'");
}

TEST_CASE("event_log: reading at every truncation length returns exactly the whole lines")
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

TEST_CASE("event_log: a corrupt middle line is skipped and named by its line number")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto bad_sha = event_line(3);
  bad_sha.replace(bad_sha.find("\"body_sha256\":\"") + 15, 1, "X");
  const std::string content = event_line(0) + "\n" + event_line(1) + "\n{not json\n" +
                              event_line(2) + "\n" + bad_sha + "\n" + event_line(4) + "\n";
  write_file(path, content);

  const std::string warn3 = fmt::format("{}:3: skipped corrupt line (not valid JSON)", path);
  const std::string warn5 =
      fmt::format("{}:5: skipped corrupt line (body_sha256 does not match the body)", path);
  const std::vector<std::string> good = {fmt::format("evt_{:026}", 0), fmt::format("evt_{:026}", 1),
                                         fmt::format("evt_{:026}", 2),
                                         fmt::format("evt_{:026}", 4)};

  SUBCASE("forward")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::vector<std::uint64_t> numbers;
    std::vector<std::string> ids;
    auto end = reader.for_each_record([&](Record&& record, const LogLine& line) {
      ids.push_back(std::get<Event>(record).id);
      numbers.push_back(line.number);
      return true;
    });
    REQUIRE(end.ok());
    CHECK(*end == content.size());
    CHECK(ids == good);
    CHECK(numbers == std::vector<std::uint64_t>{1, 2, 4, 6});
    CHECK(warnings.list == std::vector<std::string>{warn3, warn5});
  }
  SUBCASE("reverse")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    auto reversed = good;
    std::reverse(reversed.begin(), reversed.end());
    CHECK(event_ids(reader, true) == reversed);
    CHECK(warnings.list == std::vector<std::string>{warn5, warn3});
  }
  SUBCASE("forward from an offset still names the line")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    const auto second_line = event_line(0).size() + 1;
    std::vector<std::uint64_t> numbers;
    auto end = reader.for_each_record(
        [&](Record&&, const LogLine& line) {
          numbers.push_back(line.number);
          return true;
        },
        {}, second_line);
    REQUIRE(end.ok());
    CHECK(numbers == std::vector<std::uint64_t>{0, 0, 0}); // unknown when starting mid-file
    CHECK(warnings.list == std::vector<std::string>{warn3, warn5});
  }
  SUBCASE("a raw filter skips lines before parsing")
  {
    Warnings warnings;
    EventLogReader reader(path, warnings.fn());
    std::vector<std::string> ids;
    REQUIRE(reader
                .for_each_record(
                    [&](Record&& record, const LogLine&) {
                      ids.push_back(std::get<Event>(record).id);
                      return true;
                    },
                    [](std::string_view text) { return text.find("0001\"") != std::string::npos; })
                .ok());
    CHECK(ids == std::vector<std::string>{fmt::format("evt_{:026}", 1)});
    CHECK(warnings.list.empty());
  }
}

TEST_CASE("event_log: writer repairs torn tails of any length")
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

TEST_CASE("event_log: a torn tail left by another writer between two appends is repaired")
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

TEST_CASE("event_log: a writer follows the path when the log is replaced or removed")
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

TEST_CASE("event_log: queued lines wait for the next append or flush")
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

TEST_CASE("event_log: a writer follows a log moved away once it looks at the path again")
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

TEST_CASE("event_log: a line being written under the lock is not reported as torn")
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

TEST_CASE("event_log: lines longer than the read block, forward and reverse")
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

TEST_CASE("event_log: a follower resumes from the returned offset")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(writer->append(event_line(i)).ok());
  }
  EventLogReader reader(path);
  std::uint64_t offset = 0;
  CHECK(lines_forward(reader, &offset).size() == 3);

  REQUIRE(writer->append(event_line(3)).ok());
  {
    // A writer's half-written line is left for the next poll.
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << event_line(4).substr(0, 20);
  }
  std::uint64_t next = 0;
  CHECK(lines_forward(reader, &next, offset) == std::vector<std::string>{event_line(3)});
  CHECK(next == offset + event_line(3).size() + 1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << event_line(4).substr(20) << "\n";
  }
  std::uint64_t last = 0;
  CHECK(lines_forward(reader, &last, next) == std::vector<std::string>{event_line(4)});
  CHECK(last == read_file(path).size());
  CHECK(lines_forward(reader, nullptr, last).empty());

  // Stopping early returns the offset just past the line it stopped on.
  auto stopped = reader.for_each_line([](const LogLine&) { return false; });
  REQUIRE(stopped.ok());
  CHECK(*stopped == event_line(0).size() + 1);
  std::vector<std::string> newest;
  REQUIRE(reader
              .for_each_line_reverse([&](const LogLine& line) {
                newest.emplace_back(line.text);
                return newest.size() < 2;
              })
              .ok());
  CHECK(newest == std::vector<std::string>{event_line(4), event_line(3)});
}

TEST_CASE("event_log: two processes appending at once never interleave lines")
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

TEST_CASE("event_log: threads appending at once, through one writer and through several")
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

TEST_CASE("event_log: find_event by unique id prefix")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  const std::string a = "evt_01ABCD" + std::string(16, '0');
  const std::string b = "evt_01ABCE" + std::string(16, '0');
  const std::string c = "evt_02" + std::string(20, '1');
  auto writer = EventLogWriter::open(path);
  REQUIRE(writer.ok());
  REQUIRE(writer->append(to_json_line(make_event(a, "first"))).ok());
  REQUIRE(writer->append(to_json_line(make_event(b, "second"))).ok());
  REQUIRE(writer->append(to_json_line(make_event(c, "third"))).ok());
  // Lookalikes that must not count: an id inside a body, a delivery for c, and
  // a delivery whose own id has the same characters.
  REQUIRE(writer
              ->append(to_json_line(make_event("evt_03" + std::string(20, '0'),
                                               "{\"id\":\"evt_01ABCD\",\"x\":\"evt_02\"}")))
              .ok());
  Delivery d;
  d.id = "dlv_02" + std::string(20, '9');
  d.event_id = c;
  d.target = "http://127.0.0.1:1/";
  d.status = 200;
  REQUIRE(writer->append(to_json_line(d)).ok());

  EventLogReader reader(path);
  for (const char* prefix : {"01ABCD", "evt_01ABCD", "01abcd", "EVT_01ABCD"}) {
    CAPTURE(prefix);
    auto found = reader.find_event(prefix);
    REQUIRE(found.ok());
    CHECK(found->id == a);
    CHECK(found->body == "first");
  }
  auto full = reader.find_event(b);
  REQUIRE(full.ok());
  CHECK(full->body == "second");
  auto third = reader.find_event("02");
  REQUIRE(third.ok());
  CHECK(third->id == c);

  auto ambiguous = reader.find_event("evt_01ABC");
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().message ==
        fmt::format("event id prefix 'evt_01ABC' is ambiguous: {}, {}", a, b));
  CHECK(ambiguous.error().hint == "type more characters");

  auto none = reader.find_event("04");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "no event matches '04'");
  CHECK(none.error().hint == "run `rag inspect` to list events");

  CHECK_FALSE(reader.find_event("").ok());
  CHECK_FALSE(reader.find_event("evt_").ok());

  // Many matches: five are listed, then the count.
  for (int i = 0; i < 7; ++i) {
    REQUIRE(writer->append(to_json_line(make_event(fmt::format("evt_09{:024}", i), ""))).ok());
  }
  auto many = reader.find_event("09");
  REQUIRE_FALSE(many.ok());
  CHECK(many.error().message ==
        fmt::format("event id prefix '09' is ambiguous: evt_09{:024}, evt_09{:024}, "
                    "evt_09{:024}, evt_09{:024}, evt_09{:024}, … (7 matches)",
                    0, 1, 2, 3, 4));
}

TEST_CASE("event_log: find_event names a bad line it passes, and a torn last line, once each")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  // Line 2 holds no id at all, so the cheap look for the id skips it; line 3 is cut short
  // and ends in a newline. Neither can be a record; line 5 is torn.
  const std::string content = event_line(0) + "\nthis is not json\n" + event_line(1).substr(0, 40) +
                              "\n" + event_line(2) + "\n{\"v\":1,\"kind\":\"ev";
  write_file(path, content);

  Warnings warnings;
  EventLogReader reader(path, warnings.fn());
  auto found = reader.find_event(fmt::format("evt_{:026}", 2));
  REQUIRE(found.ok());
  CHECK(found->id == fmt::format("evt_{:026}", 2));
  CHECK(warnings.list ==
        std::vector<std::string>{
            fmt::format("{}:2: skipped corrupt line (not valid JSON)", path),
            fmt::format("{}:3: skipped corrupt line (not valid JSON)", path),
            fmt::format("{}:5: skipped torn last line (17 bytes, no newline)", path)});

  // Well-formed lines of other events are still skipped unparsed (no false warning).
  warnings.list.clear();
  write_file(path, event_line(0) + "\n" + event_line(1) + "\n");
  REQUIRE(reader.find_event(fmt::format("evt_{:026}", 1)).ok());
  CHECK(warnings.list.empty());
}
