#pragma once

// Files: whole reads and writes that survive short counts and signals, positional reads,
// directories, temporary files renamed into place, and flock. POSIX only; knows nothing
// about what the files hold. Functions that fail return errno-style codes (0 = success)
// or a Result whose message names the path, so callers can say what the file was for.

#include "util/fd.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace rag::util {

// Return strerror's text for `err`.
std::string errno_text(int err);

// Write all of `data` to `fd`, continuing after short writes and signals; false leaves
// the failure in errno.
bool write_all(int fd, std::string_view data);

// Read up to `len` bytes at `offset`, stopping early only at end of file; return the
// number read, or -1 with errno set.
ssize_t pread_full(int fd, char* buf, std::size_t len, std::uint64_t offset);

// Read the whole file at `path` into `out`, refusing one larger than `max_size` bytes.
// Return 0, or the errno of the failure (EFBIG when it is too large, EISDIR for a
// directory).
int read_file(const std::string& path, std::size_t max_size, std::string& out);

// Create every missing directory of `dir` (`mkdir -p`), each new one with exactly `mode`
// whatever the umask. Return 0, or the errno of the failure with `failed` set to the
// directory that could not be made (ENOTDIR when a file stands in the way).
int make_directories(const std::string& dir, mode_t mode, std::string& failed);

// Return the directory part of `path` ("." when it has none, "/" for a file in /).
std::string directory_of(const std::string& path);

// Take flock `op` on `fd`, retrying when a signal interrupts the wait; 0 or -1 (errno).
int flock_retry(int fd, int op);

// Releases the flock on a descriptor when leaving scope.
class FlockGuard
{
public:
  explicit FlockGuard(int fd) : m_fd(fd) {}
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;
  ~FlockGuard();

private:
  int m_fd;
};

// Return true when `fd` is the file `path` names now (same device and inode): false
// when the path is gone or another file was renamed over it.
bool is_file_at_path(int fd, const std::string& path);

// A new temporary file beside `path` (".NAME.TAG-XXXXXX", mode 0600), removed when
// destroyed unless kept; rename_over() puts it in `path`'s place atomically.
class TempFile
{
public:
  // Create it; an Error names the directory it could not be made in.
  static Result<TempFile> create_beside(const std::string& path, std::string_view tag);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  // Return the open descriptor to write through.
  int fd() const { return m_fd.get(); }
  // Return where it is.
  const std::string& path() const { return m_path; }
  // fsync and close it; 0, or the errno of the first failure (a deferred write error).
  int finish();
  // Rename it over `target` and fsync the directory; 0, or the errno of the rename.
  // Once renamed it is no longer removed.
  int rename_over(const std::string& target);

private:
  TempFile(Fd fd, std::string path) : m_fd(std::move(fd)), m_path(std::move(path)) {}
  Fd m_fd;
  std::string m_path; // empty once renamed (nothing to remove)
};

// Raise this process's soft limit on open files to its hard limit: a server holding a
// connection per descriptor would otherwise refuse new ones at the default 1,024.
void raise_open_file_limit();

} // namespace rag::util
