#pragma once

// Relay URLs as `rag tunnel` takes them: a channel URL, a relay to ask for a new
// channel, and the only place a sync-mode reply may go.

#include "util/result.hpp"

#include <string>
#include <string_view>

namespace rag::engine {

// A relay channel's URL and the relay it belongs to.
struct ChannelUrl
{
  std::string url;     // as given: what the tunnel subscribes to
  std::string display; // without the query (which may carry a token): for the log and banner
  std::string base;    // the relay's base URL: `url` without its last path segment and query
  std::string scheme;  // "http" or "https"
};

// Parse a channel URL "http(s)://HOST[:PORT]/[PREFIX/]CHANNEL[?QUERY]"; anything else
// (another scheme, no channel segment, spaces, a fragment) is a usage Error.
Result<ChannelUrl> parse_channel_url(std::string_view text);

// Check a relay URL "http(s)://HOST[:PORT][/PREFIX]" (for `GET RELAY/new`) and return it
// without a trailing '/'; anything else is a usage Error.
Result<std::string> parse_relay_url(std::string_view text);

// Return the URL a sync-mode reply goes to: the relay's `base` followed by `reply`. Only
// a path is accepted (it starts with one '/', holds no whitespace, control bytes,
// backslash or '#'); anything else, such as an absolute URL, is an Error, so a relay can
// never make the tunnel send to another host.
Result<std::string> resolve_reply_url(std::string_view base, std::string_view reply);

} // namespace rag::engine
