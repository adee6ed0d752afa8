#include "core/log/log_file.hpp"

#include "util/fd.hpp"
#include "util/file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/core.h>

namespace rag::core {

namespace {

using util::errno_text;
using util::flock_retry;

constexpr const char* k_writable_hint = "pass --log FILE with a writable path";

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

// Return what the file type in `mode` is, for a message: "a FIFO", "a directory", ...
const char*
file_kind(mode_t mode)
{
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO (named pipe)";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  return "a special file";
}

Error
not_regular_error(const std::string& path, mode_t mode)
{
  return error(fmt::format("event log {} is {}, not a regular file", path, file_kind(mode)),
               "remove it, or pass --log FILE naming a regular file");
}

struct DefaultLogPath
{
  std::string path;
  std::string origin; // for `rag log path`
};

DefaultLogPath
find_default_log_path(const LogPathEnv& env)
{
  const char* state = env.xdg_state_home;
  // The XDG spec says relative values are invalid and must be ignored.
  if (state != nullptr && state[0] == '/') {
    return {std::string(state) + "/rag/events.jsonl", "$XDG_STATE_HOME/rag/events.jsonl"};
  }
  const std::string why_not_xdg = state == nullptr || state[0] == '\0'
                                      ? "XDG_STATE_HOME is not set"
                                      : "XDG_STATE_HOME is ignored: not an absolute path";
  std::string home;
  std::string origin;
  if (const char* env_home = env.home; env_home != nullptr && env_home[0] != '\0') {
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
default_log_path(const LogPathEnv& env)
{
  return find_default_log_path(env).path;
}

std::string
describe_default_log_path(const LogPathEnv& env)
{
  return find_default_log_path(env).origin;
}

Result<int>
open_regular_log(const std::string& path, int flags, mode_t mode)
{
  // O_NONBLOCK: open(2) of a FIFO waits for its other end, and of some devices for the
  // device, forever; it changes nothing for a regular file, and is cleared below.
  const int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    // open(2) itself refuses some: a directory to write (EISDIR), a socket or a FIFO
    // without a reader (ENXIO); O_EXCL anything that exists (EEXIST).
    struct stat st
    {};
    if (err != ENOENT && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return not_regular_error(path, st.st_mode);
    }
    errno = err;
    return -1;
  }
  struct stat st
  {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    // A FIFO would take a writer's records (200 to the sender) into a pipe nobody reads,
    // and block once it is full; a reader would wait on it forever.
    ::close(fd);
    return not_regular_error(path, st.st_mode);
  }
  if (const int status = ::fcntl(fd, F_GETFL); status >= 0) {
    ::fcntl(fd, F_SETFL, status & ~O_NONBLOCK);
  }
  return fd;
}

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
    RAG_TRY_ASSIGN(int fd, open_regular_log(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL, 0600));
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      return fd;
    }
    if (errno == EEXIST) {
      RAG_TRY_ASSIGN(fd, open_regular_log(path, O_RDWR | O_APPEND));
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

Result<LockedLogFile>
lock_file_at_path(int& fd, const std::string& path, LockFor who,
                  std::chrono::steady_clock::time_point* last_path_check,
                  std::chrono::steady_clock::duration recheck)
{
  const int max_reopen = who == LockFor::append ? 3 : 9;
  const auto reopen = [&]() -> Result<int> {
    if (who == LockFor::append) {
      return open_log_for_append(path);
    }
    RAG_TRY_ASSIGN(const int opened, open_regular_log(path, O_RDONLY));
    if (opened < 0) {
      return error(fmt::format("cannot open event log {}: {}", path, errno_text(errno)));
    }
    return opened;
  };
  if (fd < 0) {
    RAG_TRY_ASSIGN(fd, reopen());
  }
  for (int attempt = 0;; ++attempt) {
    if (flock_retry(fd, LOCK_EX) != 0) {
      return error(fmt::format("cannot lock event log {}: {}", path, errno_text(errno)));
    }
    struct stat by_fd
    {};
    struct stat by_path
    {};
    if (::fstat(fd, &by_fd) != 0) {
      const int err = errno;
      ::flock(fd, LOCK_UN);
      return error(fmt::format("cannot write event log {}: {}", path, errno_text(err)));
    }
    if (!S_ISREG(by_fd.st_mode)) {
      ::flock(fd, LOCK_UN);
      return not_regular_error(path, by_fd.st_mode);
    }
    const LockedLogFile locked{static_cast<std::uint64_t>(by_fd.st_size)};
    // A log that prune replaced or someone removed has no links left, which fstat tells
    // for free; one moved elsewhere is noticed by looking at the path, which costs a
    // syscall per append under load, so a writer looks at most every `recheck`.
    const auto now = std::chrono::steady_clock::now();
    if (last_path_check != nullptr && by_fd.st_nlink > 0 && now - *last_path_check < recheck) {
      return locked;
    }
    if (::stat(path.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
        by_fd.st_ino == by_path.st_ino) {
      if (last_path_check != nullptr) {
        *last_path_check = now;
      }
      return locked;
    }
    if (attempt >= max_reopen) {
      if (who == LockFor::append) {
        return locked; // something keeps swapping the file: write where we are
      }
      return error(fmt::format("cannot lock event log {}: it keeps being replaced", path));
    }
    // `rag log prune` renamed a rewritten log over ours while we waited for the lock
    // (or the user removed it): a record written now would land in a file nobody reads
    // any more, and a prune would rewrite a stale copy, so follow the path to the
    // current file.
    ::flock(fd, LOCK_UN);
    RAG_TRY_ASSIGN(const int current, reopen());
    ::close(fd);
    fd = current;
  }
}
} // namespace rag::core
