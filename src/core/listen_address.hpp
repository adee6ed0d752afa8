#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace rag::core {

struct ListenAddress
{
  std::string host = "127.0.0.1";
  int port = 7777;
};

// Parse `PORT`, `HOST:PORT`, `[IPv6]:PORT`, `HOST` or `[IPv6]` (the default port
// 7777 then applies); a malformed address or a port outside 0..65535 is a usage Error.
Result<ListenAddress> parse_listen_address(std::string_view text);

} // namespace rag::core
