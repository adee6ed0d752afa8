#include "util/units.hpp"

#include <doctest/doctest.h>

using rag::util::parse_byte_size;

TEST_CASE("byte sizes: numbers and units")
{
  CHECK(*parse_byte_size("0") == 0);
  CHECK(*parse_byte_size("1024") == 1024);
  CHECK(*parse_byte_size("512KiB") == 512 * 1024);
  CHECK(*parse_byte_size("25MiB") == 25ULL * 1024 * 1024);
  CHECK(*parse_byte_size("25mib") == 25ULL * 1024 * 1024);
  CHECK(*parse_byte_size("1G") == 1ULL << 30);
  CHECK(*parse_byte_size("10k") == 10 * 1024);
  CHECK(*parse_byte_size("2MB") == 2000000);
  CHECK(*parse_byte_size("7B") == 7);
}

TEST_CASE("byte sizes: bad input is a usage error")
{
  for (const char* text : {"", "lots", "MiB", "-5", "5 MiB", "5XB", "99999999999999999999G"}) {
    CAPTURE(text);
    auto size = parse_byte_size(text);
    REQUIRE_FALSE(size.ok());
    CHECK(size.error().exit_code == 2);
  }
}
