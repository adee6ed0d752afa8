#include "core/listen_address.hpp"

#include <doctest/doctest.h>

using rag::core::parse_listen_address;

TEST_CASE("listen address: port, host:port, IPv6")
{
  struct Case
  {
    const char* text;
    const char* host;
    int port;
  };
  const Case cases[] = {
      {"9000", "127.0.0.1", 9000},           {"0", "127.0.0.1", 0},
      {"localhost:8080", "localhost", 8080}, {"0.0.0.0:80", "0.0.0.0", 80},
      {"[::1]:7000", "::1", 7000},           {"[::1]", "::1", 7777},
      {"192.168.1.5", "192.168.1.5", 7777},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto address = parse_listen_address(c.text);
    REQUIRE(address.ok());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
  }
}

TEST_CASE("listen address: malformed input is a usage error")
{
  for (const char* text :
       {"", "70000", "host:", ":80", "::1:80", "[::1", "[::1]x", "h:99999", "h:-1", "h:8a"}) {
    CAPTURE(text);
    auto address = parse_listen_address(text);
    REQUIRE_FALSE(address.ok());
    CHECK(address.error().exit_code == 2);
    CHECK(address.error().message.find("invalid listen address") != std::string::npos);
  }
}
