#pragma once

#include "core/url.hpp"

#include <doctest/doctest.h>

#include <string_view>

namespace rag::test {

// Return the target `text` parses to, failing the test when it does not parse.
inline core::Target
target_of(std::string_view text)
{
  auto target = core::parse_target(text);
  REQUIRE_MESSAGE(target.ok(), text);
  return *target;
}

} // namespace rag::test
