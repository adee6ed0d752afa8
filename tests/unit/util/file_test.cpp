#include "util/fd.hpp"
#include "util/file.hpp"
#include "util/random.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using rag::test::TempDir;
namespace util = rag::util;

namespace {

void
write_text(const std::string& path, const std::string& text)
{
  util::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  REQUIRE(util::write_all(fd.get(), text));
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

TEST_CASE("Fd: owns, moves, closes once")
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  util::Fd reader(fds[0]);
  util::Fd moved = std::move(reader);
  CHECK_FALSE(reader.valid());
  CHECK(moved.get() == fds[0]);
  {
    util::Fd writer(fds[1]);
  }
  // The write end was closed when `writer` left scope: the reader sees end of file.
  char c = 0;
  CHECK(::read(moved.get(), &c, 1) == 0);
  CHECK(moved.close() == 0);
  CHECK_FALSE(moved.valid());
  CHECK(moved.close() == 0); // nothing held: nothing to close
}

TEST_CASE("write_all, pread_full and read_file round-trip any bytes")
{
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 200000; ++i) {
    bytes.push_back(static_cast<char>(i * 7));
  }
  write_text(dir.file("f"), bytes);
  std::string read;
  CHECK(util::read_file(dir.file("f"), bytes.size(), read) == 0);
  CHECK(read == bytes);
  CHECK(util::read_file(dir.file("f"), bytes.size() - 1, read) == EFBIG);
  CHECK(util::read_file(dir.file("missing"), 100, read) == ENOENT);
  CHECK(util::read_file(dir.path(), 100, read) == EISDIR);

  util::Fd fd(::open(dir.file("f").c_str(), O_RDONLY | O_CLOEXEC));
  std::string part(10, '\0');
  CHECK(util::pread_full(fd.get(), part.data(), part.size(), 1000) == 10);
  CHECK(part == bytes.substr(1000, 10));
  // Stops early only at end of file.
  CHECK(util::pread_full(fd.get(), part.data(), part.size(), bytes.size() - 3) == 3);
  CHECK(util::pread_full(fd.get(), part.data(), part.size(), bytes.size() + 5) == 0);
}

TEST_CASE("make_directories: mkdir -p with an exact mode, naming what failed")
{
  TempDir dir;
  const mode_t old_umask = ::umask(0077);
  std::string failed;
  CHECK(util::make_directories(dir.file("a/b/c"), 0700, failed) == 0);
  ::umask(0777); // would leave no bits at all
  CHECK(util::make_directories(dir.file("a/b/d"), 0700, failed) == 0);
  ::umask(old_umask);
  CHECK(mode_of(dir.file("a/b/c")) == 0700);
  CHECK(mode_of(dir.file("a/b/d")) == 0700);
  CHECK(util::make_directories(dir.file("a/b/c"), 0700, failed) == 0); // exists: fine

  write_text(dir.file("file"), "x");
  CHECK(util::make_directories(dir.file("file/sub"), 0700, failed) == ENOTDIR);
  CHECK(failed == dir.file("file"));
}

TEST_CASE("directory_of")
{
  CHECK(util::directory_of("/a/b/log.jsonl") == "/a/b");
  CHECK(util::directory_of("/log.jsonl") == "/");
  CHECK(util::directory_of("log.jsonl") == ".");
}

TEST_CASE("TempFile: private, removed unless renamed over its target")
{
  TempDir dir;
  const std::string target = dir.file("log.jsonl");
  write_text(target, "old\n");
  std::string kept_path;
  {
    auto temp = util::TempFile::create_beside(target, "prune");
    REQUIRE(temp.ok());
    kept_path = temp->path();
    CHECK(kept_path.rfind(dir.file(".log.jsonl.prune-"), 0) == 0);
    CHECK(mode_of(kept_path) == 0600);
    REQUIRE(util::write_all(temp->fd(), "new\n"));
  }
  CHECK(::access(kept_path.c_str(), F_OK) != 0); // not renamed: removed

  util::Fd old_log(::open(target.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(util::is_file_at_path(old_log.get(), target));
  auto temp = util::TempFile::create_beside(target, "prune");
  REQUIRE(temp.ok());
  REQUIRE(util::write_all(temp->fd(), "new\n"));
  CHECK(temp->finish() == 0);
  const std::string temp_path = temp->path();
  CHECK(temp->rename_over(target) == 0);
  std::string text;
  CHECK(util::read_file(target, 100, text) == 0);
  CHECK(text == "new\n");
  CHECK(::access(temp_path.c_str(), F_OK) != 0);
  // The old descriptor no longer names what the path names.
  CHECK_FALSE(util::is_file_at_path(old_log.get(), target));

  auto nowhere = util::TempFile::create_beside(dir.file("no/such/dir/log"), "prune");
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.error().message.find("cannot create a temporary file in") != std::string::npos);
}

TEST_CASE("flock_retry and FlockGuard: the lock is released at scope exit")
{
  TempDir dir;
  write_text(dir.file("f"), "x");
  util::Fd a(::open(dir.file("f").c_str(), O_RDONLY | O_CLOEXEC));
  util::Fd b(::open(dir.file("f").c_str(), O_RDONLY | O_CLOEXEC));
  {
    REQUIRE(util::flock_retry(a.get(), LOCK_EX) == 0);
    util::FlockGuard unlock(a.get());
    CHECK(::flock(b.get(), LOCK_EX | LOCK_NB) != 0);
    CHECK(errno == EWOULDBLOCK);
  }
  CHECK(::flock(b.get(), LOCK_EX | LOCK_NB) == 0);
}

TEST_CASE("fill_random: fills every byte, differently each time")
{
  unsigned char a[64] = {};
  unsigned char b[64] = {};
  util::fill_random(a, sizeof a);
  util::fill_random(b, sizeof b);
  CHECK(std::memcmp(a, b, sizeof a) != 0);
  int zeros = 0;
  for (unsigned char c : a) {
    zeros += c == 0 ? 1 : 0;
  }
  CHECK(zeros < 8); // 64 random bytes hold ~0.25 zeros on average
}

TEST_CASE("raise_open_file_limit: the soft limit becomes the hard one")
{
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  util::raise_open_file_limit();
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &before);
}
