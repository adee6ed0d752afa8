#include "util/terminal.hpp"
#include "util/text.hpp"

#include <doctest/doctest.h>

using namespace rag::util;

TEST_CASE("edit distance and did-you-mean")
{
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("listen", "listen") == 0);
  CHECK(edit_distance("lisen", "listen") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  const std::vector<std::string> commands = {"listen", "inspect", "replay"};
  CHECK(closest_match("lisen", commands) == "listen");
  CHECK(closest_match("inspct", commands) == "inspect");
  CHECK(closest_match("frobnicate", commands).empty());
  CHECK(closest_match("--folow", {"--follow", "--last", "--log"}) == "--follow");
}

TEST_CASE("case helpers")
{
  CHECK(to_lower("Content-Type") == "content-type");
  CHECK(iequals("X-Hub-Signature", "x-hub-signature"));
  CHECK_FALSE(iequals("X-Hub", "X-Hu"));
}

TEST_CASE("human sizes")
{
  CHECK(human_size(512) == "512 B");
  CHECK(human_size(2048) == "2.0 KiB");
  CHECK(human_size(5 * 1024 * 1024) == "5.0 MiB");
}
