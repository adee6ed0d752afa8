#include "engine/channel_url.hpp"

#include "core/event_view.hpp"
#include "core/forward_plan.hpp"

#include <fmt/core.h>

#include <utility>

namespace rag::engine {

namespace {

bool
has_unsafe_url_byte(std::string_view text)
{
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '\\' || c == '#') {
      return true;
    }
  }
  return false;
}

// Split "scheme://authority/rest" into its scheme and authority; an Error unless the
// scheme is http or https and the authority is not empty.
Result<std::pair<std::string, std::string>>
split_origin(std::string_view text, std::string_view what)
{
  std::string scheme;
  if (text.substr(0, 7) == "http://") {
    scheme = "http";
  } else if (text.substr(0, 8) == "https://") {
    scheme = "https";
  } else {
    return usage_error(fmt::format("invalid {} '{}'", what, core::terminal_line(text)),
                       "use an http:// or https:// URL");
  }
  if (has_unsafe_url_byte(text)) {
    return usage_error(fmt::format("invalid {} '{}': spaces, control characters, '\\' or '#'", what,
                                   core::terminal_line(text)),
                       "use a plain http:// or https:// URL");
  }
  const std::string_view rest = text.substr(scheme.size() + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return usage_error(fmt::format("invalid {} '{}': no host", what, core::terminal_line(text)),
                       "e.g. https://smee.io/AbC123");
  }
  // parse_target knows hosts, IPv6 brackets and ports.
  auto target = core::parse_target(fmt::format("{}://{}", scheme, authority));
  if (!target) {
    return usage_error(
        fmt::format("invalid {} '{}': {}", what, core::terminal_line(text), target.error().message),
        target.error().hint);
  }
  return std::pair{scheme, std::string(authority)};
}

} // namespace

Result<ChannelUrl>
parse_channel_url(std::string_view text)
{
  RAG_TRY_ASSIGN(const auto origin, split_origin(text, "channel URL"));
  const auto& [scheme, authority] = origin;
  std::string_view rest = text.substr(scheme.size() + 3 + authority.size());
  const std::size_t question = rest.find('?');
  std::string_view path = rest.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  const std::size_t last_slash = path.rfind('/');
  if (path.empty() || last_slash == std::string_view::npos || last_slash + 1 == path.size()) {
    return usage_error(
        fmt::format("invalid channel URL '{}': no channel in it", core::terminal_line(text)),
        "e.g. https://smee.io/AbC123, or leave it out to get a new channel");
  }
  ChannelUrl channel;
  channel.scheme = scheme;
  channel.display = fmt::format("{}://{}{}", scheme, authority, path);
  channel.url = query.empty() ? channel.display : channel.display + "?" + std::string(query);
  channel.base = fmt::format("{}://{}{}", scheme, authority, path.substr(0, last_slash));
  return channel;
}

Result<std::string>
parse_relay_url(std::string_view text)
{
  RAG_TRY_ASSIGN(const auto origin, split_origin(text, "relay URL"));
  if (text.find('?') != std::string_view::npos) {
    return usage_error(
        fmt::format("invalid relay URL '{}': it has a query", core::terminal_line(text)),
        "give the relay's base URL, e.g. --relay https://smee.io");
  }
  std::string url(text);
  while (url.size() > origin.first.size() + 3 + origin.second.size() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

Result<std::string>
resolve_reply_url(std::string_view base, std::string_view reply)
{
  if (reply.empty() || reply.front() != '/' || reply.substr(0, 2) == "//" ||
      has_unsafe_url_byte(reply)) {
    return error(fmt::format("refusing reply path '{}': not a path on the relay",
                             core::terminal_line(reply)));
  }
  return std::string(base) + std::string(reply);
}

} // namespace rag::engine
