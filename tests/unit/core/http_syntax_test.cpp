#include "core/http_syntax.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rag::core;

TEST_CASE("http_syntax: tokens, OWS and list elements")
{
  CHECK(http::is_token("X-Hub-Signature-256"));
  CHECK(http::is_token("!#$%&'*+-.^_`|~"));
  CHECK_FALSE(http::is_token(""));
  CHECK_FALSE(http::is_token("X Y"));
  CHECK_FALSE(http::is_token("a:b"));
  CHECK(http::trim_ows(" \t a b \t") == "a b");
  CHECK(http::trim_ows("\r\na\n") == "\r\na\n"); // SP and HTAB only
  std::vector<std::string> elements;
  http::for_each_element(" a ,, b\t,", [&](std::string_view e) { elements.emplace_back(e); });
  CHECK(elements == std::vector<std::string>{"a", "b"});
  CHECK(http::iequals("Chunked", "chunked"));
  CHECK_FALSE(http::iequals("chunked", "Chunked")); // the second side is lower-case already
}

TEST_CASE("http_syntax: read_framing reads Content-Length, Transfer-Encoding and Connection")
{
  http::Framing framing = http::read_framing({{"Content-Length", "5, 5"}, {"content-length", "5"}});
  CHECK(framing.has_length);
  CHECK(framing.length == 5);
  CHECK_FALSE(framing.length_invalid());

  framing = http::read_framing({{"Content-Length", "5"}, {"Content-Length", "6"}});
  CHECK(framing.length_conflict);
  CHECK(framing.length_invalid());
  CHECK(http::read_framing({{"Content-Length", "5x"}}).length_bad);
  CHECK(http::read_framing({{"Content-Length", " , "}}).length_bad);
  CHECK(http::read_framing({{"Content-Length", "99999999999999999999999"}}).length_overflow);
  CHECK_FALSE(http::read_framing({{"Content-Length", "99999999999999999999999"}}).has_length);

  framing = http::read_framing({{"Transfer-Encoding", "gzip, Chunked;x=1"}});
  CHECK(framing.has_te);
  CHECK(framing.coding_count == 2);
  CHECK(framing.chunked_count == 1);
  CHECK(framing.chunked_last);
  framing = http::read_framing({{"Transfer-Encoding", "chunked"}, {"transfer-encoding", "gzip"}});
  CHECK(framing.coding_count == 2);
  CHECK(framing.chunked_count == 1);
  CHECK_FALSE(framing.chunked_last);
  framing = http::read_framing({{"Transfer-Encoding", " , chunked,,"}});
  CHECK(framing.coding_count == 1);
  CHECK(framing.chunked_last);
  CHECK(http::read_framing({{"Transfer-Encoding", ""}}).coding_count == 0);

  framing = http::read_framing({{"Connection", "Keep-Alive, Upgrade"}});
  CHECK(framing.keep_alive);
  CHECK_FALSE(framing.close);
  CHECK(http::keeps_alive(framing, false));
  CHECK(http::keeps_alive(http::Framing{}, true));
  CHECK_FALSE(http::keeps_alive(http::Framing{}, false));
  framing = http::read_framing({{"connection", "keep-alive"}, {"Connection", "close"}});
  CHECK_FALSE(http::keeps_alive(framing, true));
  CHECK_FALSE(http::keeps_alive(framing, false));
}
