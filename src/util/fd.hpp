#pragma once

// An owned file descriptor.

#include <unistd.h>
#include <utility>

namespace rag::util {

// Owns a file descriptor: closes it when destroyed (which also releases any flock taken
// through it). An Fd holding -1 owns nothing.
class Fd
{
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept
  {
    if (this != &other) {
      reset(std::exchange(other.m_fd, -1));
    }
    return *this;
  }
  ~Fd() { reset(); }

  // Return the descriptor (-1 when none).
  int get() const { return m_fd; }
  // Return true when a descriptor is held.
  bool valid() const { return m_fd >= 0; }
  // Close the held descriptor (if any) and hold `fd` instead.
  void reset(int fd = -1)
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }
  // Close now and return close()'s result: a deferred write error shows up here.
  int close() { return m_fd >= 0 ? ::close(std::exchange(m_fd, -1)) : 0; }

private:
  int m_fd = -1;
};

} // namespace rag::util
