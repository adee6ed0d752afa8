#include "engine/channel_url.hpp"

#include <doctest/doctest.h>

using namespace rag;

TEST_CASE("channel url: channel URLs give the relay base; anything else is a usage error")
{
  auto smee = engine::parse_channel_url("https://smee.io/AbC123");
  REQUIRE(smee.ok());
  CHECK(smee->url == "https://smee.io/AbC123");
  CHECK(smee->display == "https://smee.io/AbC123");
  CHECK(smee->base == "https://smee.io");
  CHECK(smee->scheme == "https");

  auto prefixed = engine::parse_channel_url("http://127.0.0.1:8080/relay/team-a/?token=s");
  REQUIRE(prefixed.ok());
  CHECK(prefixed->url == "http://127.0.0.1:8080/relay/team-a?token=s");
  CHECK(prefixed->display == "http://127.0.0.1:8080/relay/team-a");
  CHECK(prefixed->base == "http://127.0.0.1:8080/relay");

  auto ipv6 = engine::parse_channel_url("http://[::1]:9000/c");
  REQUIRE(ipv6.ok());
  CHECK(ipv6->base == "http://[::1]:9000");

  for (const char* bad : {"ftp://smee.io/abc", "https://smee.io", "https://smee.io/", "smee.io/abc",
                          "3000", "https://smee.io/a b", "https://u@h/abc", "https://h/abc#x",
                          "https://h:99999/abc", "http:///abc"}) {
    CAPTURE(bad);
    auto parsed = engine::parse_channel_url(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().exit_code == 2);
  }

  auto relay = engine::parse_relay_url("https://relay.example.com/base/");
  REQUIRE(relay.ok());
  CHECK(*relay == "https://relay.example.com/base");
  CHECK_FALSE(engine::parse_relay_url("https://relay.example.com/?x=1").ok());
  CHECK_FALSE(engine::parse_relay_url("relay.example.com").ok());
}

TEST_CASE("channel url: a reply goes only to a path on the relay")
{
  const std::string base = "https://relay.example.com/prefix";
  auto ok = engine::resolve_reply_url(base, "/_rag/reply/chan/evt_1");
  REQUIRE(ok.ok());
  CHECK(*ok == "https://relay.example.com/prefix/_rag/reply/chan/evt_1");

  for (const char* bad : {"https://evil.example/steal", "//evil.example/steal", "", "_rag/reply/x",
                          "/a b", "/a\r\nX-Injected: 1", "/a\\b", "/a#b", "http:/evil"}) {
    CAPTURE(bad);
    CHECK_FALSE(engine::resolve_reply_url(base, bad).ok());
  }
}
