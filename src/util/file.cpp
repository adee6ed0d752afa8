#include "util/file.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

namespace rag::util {

std::string
errno_text(int err)
{
  return std::strerror(err);
}

bool
write_all(int fd, std::string_view data)
{
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

ssize_t
pread_full(int fd, char* buf, std::size_t len, std::uint64_t offset)
{
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (n == 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

int
read_file(const std::string& path, std::size_t max_size, std::string& out)
{
  out.clear();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st
  {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
    return errno;
  }
  if (S_ISDIR(st.st_mode)) {
    return EISDIR;
  }
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    if (n == 0) {
      return 0;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_size) {
      return EFBIG;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

int
make_directories(const std::string& dir, mode_t mode, std::string& failed)
{
  if (dir.empty()) {
    return 0;
  }
  // The common case, an existing directory, costs one stat instead of a mkdir per
  // path component.
  struct stat existing
  {};
  if (::stat(dir.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) {
    return 0;
  }
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (prefix.empty() || prefix == "." || prefix == "..") {
      continue;
    }
    if (::mkdir(prefix.c_str(), mode) == 0) {
      // The umask may have removed bits we need (or left none).
      ::chmod(prefix.c_str(), mode);
      continue;
    }
    int err = errno;
    struct stat st
    {};
    if (::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        continue; // exists already (EEXIST, or EACCES/EROFS on an existing parent)
      }
      err = ENOTDIR; // "File exists" would not tell the user what is wrong
    }
    failed = prefix;
    return err;
  }
  return 0;
}

std::string
directory_of(const std::string& path)
{
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

int
flock_retry(int fd, int op)
{
  int rc = 0;
  do {
    rc = ::flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

FlockGuard::~FlockGuard()
{
  ::flock(m_fd, LOCK_UN);
}

bool
is_file_at_path(int fd, const std::string& path)
{
  struct stat by_fd
  {};
  struct stat by_path
  {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

Result<TempFile>
TempFile::create_beside(const std::string& path, std::string_view tag)
{
  const std::string dir = directory_of(path);
  const auto slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string name = fmt::format("{}/.{}.{}-XXXXXX", dir, base, tag);
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return error(fmt::format("cannot create a temporary file in {}: {}", dir, errno_text(errno)));
  }
  // mkostemp already creates 0600; say so explicitly whatever its version does.
  ::fchmod(fd.get(), 0600);
  return TempFile(std::move(fd), std::move(name));
}

TempFile::TempFile(TempFile&& other) noexcept
    : m_fd(std::move(other.m_fd)), m_path(std::exchange(other.m_path, {}))
{}

TempFile::~TempFile()
{
  if (!m_path.empty()) {
    ::unlink(m_path.c_str());
  }
}

int
TempFile::finish()
{
  int err = 0;
  if (m_fd.valid() && ::fsync(m_fd.get()) != 0) {
    err = errno;
  }
  if (m_fd.close() != 0 && err == 0) {
    err = errno;
  }
  return err;
}

int
TempFile::rename_over(const std::string& target)
{
  if (::rename(m_path.c_str(), target.c_str()) != 0) {
    return errno;
  }
  m_path.clear();
  const int dir = ::open(directory_of(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    // Some file systems cannot fsync a directory; the rename has happened either way,
    // so a failure here is not worth failing the caller for.
    [[maybe_unused]] const int rc = ::fsync(dir);
    ::close(dir);
  }
  return 0;
}

void
raise_open_file_limit()
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

} // namespace rag::util
