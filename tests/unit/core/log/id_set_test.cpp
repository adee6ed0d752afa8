#include "core/log/id_set.hpp"

#include "support/log_lines.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <string>

#include <fmt/core.h>

using namespace rag::core;
using namespace rag::test;

TEST_CASE("id_set: IdSet holds short and long ids")
{
  IdSet ids;
  CHECK(ids.insert(event_id(1)));
  CHECK_FALSE(ids.insert(event_id(1)));
  CHECK(ids.insert("evt_1"));
  const std::string long_id = "evt_" + std::string(40, 'A');
  CHECK(ids.insert(long_id));
  CHECK_FALSE(ids.insert(long_id));
  CHECK(ids.contains(event_id(1)));
  CHECK(ids.contains("evt_1"));
  CHECK(ids.contains(long_id));
  CHECK_FALSE(ids.contains(event_id(2)));
  CHECK_FALSE(ids.contains("evt_"));
  CHECK_FALSE(ids.contains(long_id + "B"));
  // A 31-byte id is the longest compact one; 32 bytes goes to the other set.
  CHECK(ids.insert(std::string(31, 'q')));
  CHECK(ids.insert(std::string(32, 'q')));
  CHECK(ids.contains(std::string(31, 'q')));
  CHECK(ids.contains(std::string(32, 'q')));
  CHECK(ids.size() == 5);
}
