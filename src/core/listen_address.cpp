#include "core/listen_address.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

namespace rag::core {

namespace {

bool
parse_port(std::string_view text, int& port)
{
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > 65535) {
    return false;
  }
  port = value;
  return true;
}

} // namespace

Result<ListenAddress>
parse_listen_address(std::string_view text)
{
  auto bad = [&](std::string_view why) {
    return usage_error(fmt::format("invalid listen address '{}': {}", text, why),
                       "use PORT, HOST:PORT or [IPv6]:PORT, e.g. 7777 or 127.0.0.1:7777");
  };
  ListenAddress address;
  if (text.empty()) {
    return bad("empty");
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (!parse_port(text, address.port)) {
      return bad("port must be 0-65535");
    }
    return address;
  }
  std::string_view host = text;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return bad("missing ']'");
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return bad("expected ':' after ']'");
      }
      port = rest.substr(1);
      if (port.empty()) {
        return bad("missing port after ':'");
      }
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      if (text.find(':') != colon) {
        return bad("write IPv6 addresses in brackets, e.g. [::1]:7777");
      }
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) {
        return bad("missing port after ':'");
      }
    }
  }
  if (host.empty()) {
    return bad("missing host");
  }
  if (!port.empty() && !parse_port(port, address.port)) {
    return bad("port must be 0-65535");
  }
  address.host = std::string(host);
  return address;
}

} // namespace rag::core
