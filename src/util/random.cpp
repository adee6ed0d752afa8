#include "util/random.hpp"

#include <openssl/rand.h>

#include <cerrno>
#include <sys/random.h>

namespace rag::util {

void
fill_random(unsigned char* out, std::size_t len)
{
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::getrandom(out + got, len - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (got < len) {
    RAND_bytes(out + got, static_cast<int>(len - got));
  }
}

} // namespace rag::util
