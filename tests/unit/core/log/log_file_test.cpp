#include "core/log/log_file.hpp"

#include "util/fd.hpp"
#include "util/file.hpp"

#include "support/fifo.hpp"
#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

using rag::test::TempDir;

TEST_CASE("log_file: default path follows XDG_STATE_HOME, then HOME")
{
  CHECK(default_log_path({"/state", nullptr}) == "/state/rag/events.jsonl");
  CHECK(default_log_path({"relative/ignored", "/home/dev"}) ==
        "/home/dev/.local/state/rag/events.jsonl");
  CHECK(default_log_path({nullptr, "/home/dev"}) == "/home/dev/.local/state/rag/events.jsonl");
  const auto from_passwd = default_log_path({nullptr, nullptr});
  CHECK(from_passwd.size() > std::string("/.local/state/rag/events.jsonl").size());
  CHECK(from_passwd.find("/.local/state/rag/events.jsonl") != std::string::npos);
}

TEST_CASE("log_file: lock_file_at_path locks the file the path names now, for writers and prune")
{
  TempDir dir;
  const auto path = dir.file("events.jsonl");
  write_file(path, "{\"n\":1}\n");

  // Opened by the call, locked exclusively: nobody else gets the lock meanwhile.
  int fd = -1;
  auto locked = lock_file_at_path(fd, path, LockFor::rewrite);
  REQUIRE(locked.ok());
  REQUIRE(fd >= 0);
  CHECK(locked->size == 8);
  {
    rag::util::Fd other(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) != 0);
  }
  ::close(fd);

  for (const LockFor who : {LockFor::append, LockFor::rewrite}) {
    CAPTURE(static_cast<int>(who));
    // A rewritten log renamed over the one held: the lock goes to the new file.
    int held = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(held >= 0);
    write_file(dir.file("new.jsonl"), "{\"n\":2}\n{\"n\":3}\n");
    REQUIRE(::rename(dir.file("new.jsonl").c_str(), path.c_str()) == 0);
    const int before = held;
    auto followed = lock_file_at_path(held, path, who);
    REQUIRE(followed.ok());
    CHECK(held != before);
    CHECK(rag::util::is_file_at_path(held, path));
    CHECK(followed->size == 16);
    ::close(held);
  }

  // A removed log: a writer creates it again, a prune has nothing to lock.
  int writer_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(::unlink(path.c_str()) == 0);
  auto recreated = lock_file_at_path(writer_fd, path, LockFor::append);
  REQUIRE(recreated.ok());
  CHECK(recreated->size == 0);
  CHECK(rag::util::is_file_at_path(writer_fd, path));
  ::close(writer_fd);
  REQUIRE(::unlink(path.c_str()) == 0);
  int prune_fd = -1;
  auto missing = lock_file_at_path(prune_fd, path, LockFor::rewrite);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message ==
        fmt::format("cannot open event log {}: No such file or directory", path));
}

TEST_CASE("log_file: describe_default_log_path names the variable that applied")
{
  CHECK(describe_default_log_path({"/state", nullptr}) == "$XDG_STATE_HOME/rag/events.jsonl");
  CHECK(describe_default_log_path({"relative", "/home/dev"}) ==
        "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME is ignored: not an absolute path)");
  CHECK(describe_default_log_path({nullptr, "/home/dev"}) ==
        "$HOME/.local/state/rag/events.jsonl (XDG_STATE_HOME is not set)");
  CHECK(default_log_path({nullptr, "/home/dev"}) == "/home/dev/.local/state/rag/events.jsonl");
  CHECK(describe_default_log_path({nullptr, nullptr}).find("HOME is not set") != std::string::npos);
}

TEST_CASE("log_file: a log path naming a FIFO, a directory, a socket or a device is refused")
{
  TempDir dir;
  const auto fifo = dir.file("fifo.jsonl");
  // Held open at the other end: the open itself succeeds, and only the file type tells.
  rag::util::Fd held = make_held_fifo(fifo);

  const auto socket_path = dir.file("socket.jsonl");
  rag::util::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  socket_path.copy(address.sun_path, socket_path.size());
  REQUIRE(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, "a FIFO (named pipe)"},
      {dir.path(), "a directory"},
      {socket_path, "a socket"},
      {"/dev/null", "a character device"},
  };
  for (const auto& [path, kind] : cases) {
    CAPTURE(path);
    const std::string message = fmt::format("event log {} is {}, not a regular file", path, kind);
    for (const int flags : {O_RDONLY, O_RDWR | O_APPEND, O_WRONLY | O_APPEND}) {
      CAPTURE(flags);
      auto opened = open_regular_log(path, flags);
      REQUIRE_FALSE(opened.ok());
      CHECK(opened.error().message == message);
      CHECK(opened.error().hint == "remove it, or pass --log FILE naming a regular file");
    }
    auto appending = open_log_for_append(path);
    REQUIRE_FALSE(appending.ok());
    CHECK(appending.error().message == message);
    for (const LockFor who : {LockFor::append, LockFor::rewrite}) {
      int fd = -1;
      auto locked = lock_file_at_path(fd, path, who);
      REQUIRE_FALSE(locked.ok());
      CHECK(locked.error().message == message);
      CHECK(fd == -1);
    }
  }

  // A FIFO nobody has open: O_WRONLY would wait for a reader forever.
  held.close();
  auto lonely = open_regular_log(fifo, O_WRONLY | O_APPEND);
  REQUIRE_FALSE(lonely.ok());
  CHECK(lonely.error().message ==
        fmt::format("event log {} is a FIFO (named pipe), not a regular file", fifo));

  // A regular file opens blocking; a missing one is -1 with errno ENOENT.
  write_file(dir.file("events.jsonl"), "{}\n");
  auto regular = open_regular_log(dir.file("events.jsonl"), O_RDONLY);
  REQUIRE(regular.ok());
  REQUIRE(*regular >= 0);
  rag::util::Fd regular_fd(*regular);
  CHECK((::fcntl(regular_fd.get(), F_GETFL) & O_NONBLOCK) == 0);
  CHECK((::fcntl(regular_fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  auto missing = open_regular_log(dir.file("none.jsonl"), O_RDONLY);
  REQUIRE(missing.ok());
  CHECK(*missing == -1);
  CHECK(errno == ENOENT);
}
