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
  CHECK(ascii_lower('Q') == 'q');
  CHECK(ascii_lower('q') == 'q');
  CHECK(ascii_lower('\xC4') == '\xC4'); // ASCII only
}

TEST_CASE("for_each_piece keeps empty pieces")
{
  std::vector<std::string> pieces;
  const auto collect = [&](std::string_view piece) { pieces.emplace_back(piece); };
  for_each_piece("a;;b;", ';', collect);
  CHECK(pieces == std::vector<std::string>{"a", "", "b", ""});
  pieces.clear();
  for_each_piece("", ';', collect);
  CHECK(pieces == std::vector<std::string>{""});
}

TEST_CASE("human sizes")
{
  CHECK(human_size(512) == "512 B");
  CHECK(human_size(2048) == "2.0 KiB");
  CHECK(human_size(5 * 1024 * 1024) == "5.0 MiB");
}
