#pragma once

#include "util/fd.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <string>
#include <sys/stat.h>

namespace rag::test {

// Make a FIFO at `path` and return a descriptor open on it for reading and writing, as a
// reader (`cat`) or a writer at its other end would hold it: an open(2) of it then never
// waits, so code that does not refuse FIFOs fails a test instead of hanging it.
inline util::Fd
make_held_fifo(const std::string& path)
{
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  util::Fd held(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(held.valid());
  return held;
}

} // namespace rag::test
