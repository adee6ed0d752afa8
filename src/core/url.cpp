#include "core/url.hpp"

#include "core/http_syntax.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace rag::core {

namespace {

constexpr std::size_t k_npos = std::string_view::npos;

constexpr std::string_view k_target_hint =
    "give a port (3000), HOST:PORT[/PATH] or an http:// or https:// URL";

bool
all_digits(std::string_view text)
{
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Return the length of the "scheme" in "scheme://...", or 0 when `text` does not
// start with one (so "localhost:3000/x://y" has none).
std::size_t
scheme_length(std::string_view text)
{
  const std::size_t end = text.find("://");
  if (end == k_npos || end == 0) {
    return 0;
  }
  const bool plain =
      std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
      });
  return plain ? end : 0;
}

int
default_port(std::string_view scheme)
{
  return scheme == "https" ? 443 : 80;
}

Error
target_error(std::string_view text, std::string_view reason)
{
  return usage_error(fmt::format("invalid target '{}': {}", text, reason),
                     std::string(k_target_hint));
}

Result<int>
parse_port(std::string_view text, std::string_view whole)
{
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (!all_digits(text) || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return target_error(whole, fmt::format("port '{}' is not a number from 1 to 65535", text));
  }
  return port;
}

bool
is_host_name_char(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '.' || c == '_';
}

bool
is_ipv6_char(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

// The path and query of what follows "scheme://" in a URL (or of a text without a
// scheme): from the first '/', '?' or '#' on, fragment dropped; empty when none.
std::string_view
path_and_query(std::string_view rest)
{
  const std::size_t path_start = rest.find_first_of("/?#");
  rest = path_start == k_npos ? std::string_view() : rest.substr(path_start);
  return strip_fragment(rest);
}

// `path_and_query` as a request target: a query without a path ("http://h?x") asks
// for "/?x", and nothing at all for "/".
std::string
origin_form(std::string_view path_and_query)
{
  const bool needs_slash = path_and_query.empty() || path_and_query.front() != '/';
  return fmt::format("{}{}", needs_slash ? "/" : "", path_and_query);
}

} // namespace

bool
is_target_safe(std::string_view text)
{
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

TargetParts
split_path_query(std::string_view target)
{
  TargetParts parts;
  const std::size_t question = target.find('?');
  parts.path = target.substr(0, question);
  if (question != k_npos) {
    parts.query = target.substr(question + 1);
    parts.has_query = true;
  }
  return parts;
}

std::string_view
strip_fragment(std::string_view target)
{
  return target.substr(0, target.find('#'));
}

TargetParts
split_target(std::string_view raw)
{
  raw = strip_fragment(raw);
  if (const std::size_t scheme_end = raw.find("://");
      scheme_end != k_npos && !raw.empty() && raw.front() != '/') {
    raw = path_and_query(raw.substr(scheme_end + 3));
  }
  return split_path_query(raw);
}

Result<Target>
parse_target(std::string_view text)
{
  if (text.empty()) {
    return target_error(text, "it is empty");
  }
  if (!is_target_safe(text)) {
    return target_error(text, "it contains spaces or control characters");
  }

  Target target;
  std::string_view rest = text;
  // "3000", ":3000", "3000/hooks", ":3000?x=1": a port, with or without a path, is the
  // common case, a service on this machine. Read as a host name, "4000" would become the
  // address 0.0.15.160 (inet_aton reads a bare number as one), so it never is.
  const std::string_view port_part = rest.substr(rest.front() == ':' ? 1 : 0);
  const std::string_view leading_port = port_part.substr(0, port_part.find_first_of("/?#"));
  if (all_digits(leading_port)) {
    RAG_TRY_ASSIGN(target.port, parse_port(leading_port, text));
    target.scheme = "http";
    target.host = "127.0.0.1";
    rest = port_part.substr(leading_port.size());
  } else if (const std::size_t scheme_end = scheme_length(rest); scheme_end != 0) {
    target.scheme = util::to_lower(rest.substr(0, scheme_end));
    if (target.scheme != "http" && target.scheme != "https") {
      return target_error(text,
                          fmt::format("scheme '{}' is not supported", rest.substr(0, scheme_end)));
    }
    rest.remove_prefix(scheme_end + 3);
  } else {
    target.scheme = "http";
  }

  if (target.host.empty()) {
    const std::size_t authority_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authority_end);
    rest = authority_end == k_npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != k_npos) {
      return target_error(text, "credentials in target URLs are not supported");
    }
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
      const std::size_t close = authority.find(']');
      if (close == k_npos) {
        return target_error(text, "missing ']' after the IPv6 address");
      }
      target.host = std::string(authority.substr(1, close - 1));
      const std::string_view after = authority.substr(close + 1);
      if (!after.empty() && after.front() != ':') {
        return target_error(text, "unexpected text after the IPv6 address");
      }
      has_port = !after.empty();
      port_text = has_port ? after.substr(1) : std::string_view();
      if (target.host.empty() ||
          !std::all_of(target.host.begin(), target.host.end(), is_ipv6_char)) {
        return target_error(text, "not a valid IPv6 address");
      }
    } else {
      const std::size_t colon = authority.find(':');
      if (colon != k_npos && authority.find(':', colon + 1) != k_npos) {
        return target_error(text, "IPv6 addresses need brackets, as in http://[::1]:3000");
      }
      target.host = std::string(authority.substr(0, colon));
      has_port = colon != k_npos;
      port_text = has_port ? authority.substr(colon + 1) : std::string_view();
      if (target.host.empty()) {
        return target_error(text, "no host");
      }
      if (!std::all_of(target.host.begin(), target.host.end(), is_host_name_char)) {
        return target_error(text, fmt::format("'{}' is not a valid host name", target.host));
      }
      if (host_ends_in_number(target.host) && !is_dotted_quad(target.host)) {
        return target_error(text, fmt::format("host '{}' is a number, not an address; write a "
                                              "port as 3000 or a full IPv4 address as 127.0.0.1",
                                              target.host));
      }
    }
    if (has_port) {
      RAG_TRY_ASSIGN(target.port, parse_port(port_text, text));
    } else {
      target.port = default_port(target.scheme);
    }
  }

  // Fragments never go on the wire.
  rest = rest.substr(0, rest.find('#'));
  const std::size_t question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  if (question != k_npos) {
    target.query = std::string(rest.substr(question + 1));
  }
  if (path != "/") {
    target.path = std::string(path);
  }

  const bool ipv6 = target.host.find(':') != std::string::npos;
  target.url = fmt::format(
      "{}://{}{}{}", target.scheme, ipv6 ? fmt::format("[{}]", target.host) : target.host,
      target.port == default_port(target.scheme) ? std::string() : fmt::format(":{}", target.port),
      target.path);
  if (!target.query.empty()) {
    target.url += '?';
    target.url += target.query;
  }
  return target;
}

std::string
host_header_value(const Target& target)
{
  const bool ipv6 = target.host.find(':') != std::string::npos;
  std::string host = ipv6 ? fmt::format("[{}]", target.host) : target.host;
  if (target.port != default_port(target.scheme)) {
    host += fmt::format(":{}", target.port);
  }
  return host;
}

Result<ExactUrl>
parse_exact_url(std::string_view url)
{
  RAG_TRY_ASSIGN(core::Target target, parse_target(url));
  ExactUrl exact;
  // Everything after the authority is the request target, byte for byte.
  std::string_view rest = url;
  if (const std::size_t scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    rest.remove_prefix(scheme_end + 3);
  }
  exact.request_target = origin_form(path_and_query(rest));
  target.path.clear();
  target.query.clear();
  target.url = fmt::format("{}://{}", target.scheme, host_header_value(target));
  exact.origin = std::move(target);
  return exact;
}

bool
host_ends_in_number(std::string_view host)
{
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  const std::size_t dot = host.rfind('.');
  const std::string_view last = dot == k_npos ? host : host.substr(dot + 1);
  if (all_digits(last)) {
    return true;
  }
  // inet_aton also reads hex labels ("0x7f.1"), so they count as numbers too.
  return last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
         std::all_of(last.begin() + 2, last.end(), [](char c) { // "0x" alone is 0
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

bool
is_dotted_quad(std::string_view host)
{
  int parts = 0;
  while (true) {
    const std::size_t dot = host.find('.');
    const std::string_view part = host.substr(0, dot);
    // A leading zero makes inet_aton read octal ("010" is 8): only "0" itself is plain.
    if (!all_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0') ||
        std::stoi(std::string(part)) > 255 || ++parts > 4) {
      return false;
    }
    if (dot == k_npos) {
      return parts == 4;
    }
    host.remove_prefix(dot + 1);
  }
}

std::string
url_authority(std::string_view url)
{
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return {};
  }
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  return std::string(rest);
}

std::string
percent_decode(std::string_view in, bool plus_as_space)
{
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size() && http::hex_value(in[i + 1]) >= 0 &&
        http::hex_value(in[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(http::hex_value(in[i + 1]) * 16 + http::hex_value(in[i + 2])));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<Param>
parse_query(std::string_view target)
{
  std::vector<Param> params;
  const TargetParts parts = split_path_query(strip_fragment(target));
  if (!parts.has_query) {
    return params;
  }
  util::for_each_piece(parts.query, '&', [&](std::string_view piece) {
    if (piece.empty()) {
      return;
    }
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      params.emplace_back(percent_decode(piece, true), std::string());
    } else {
      params.emplace_back(percent_decode(piece.substr(0, eq), true),
                          percent_decode(piece.substr(eq + 1), true));
    }
  });
  return params;
}

std::string
form_urlencode(const std::vector<Param>& params)
{
  constexpr char k_hex[] = "0123456789ABCDEF";
  const auto encode = [&](std::string& out, std::string_view s) {
    for (const char c : s) {
      const auto b = static_cast<unsigned char>(c);
      if (std::isalnum(b) != 0 || c == '*' || c == '-' || c == '.' || c == '_') {
        out.push_back(c);
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        out.push_back('%');
        out.push_back(k_hex[b >> 4]);
        out.push_back(k_hex[b & 15]);
      }
    }
  };
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    encode(out, name);
    out.push_back('=');
    encode(out, value);
  }
  return out;
}

Result<std::string>
url_request_target(std::string_view url)
{
  if (url.starts_with("/")) {
    return std::string(strip_fragment(url));
  }
  const std::size_t scheme_end = scheme_length(url);
  if (scheme_end == 0) {
    const std::string shown =
        util::is_valid_utf8(url) ? std::string(url) : util::utf8_replace_invalid(url);
    return error(fmt::format("request.url '{}' is not an absolute URL", shown));
  }
  return origin_form(path_and_query(url.substr(scheme_end + 3)));
}

} // namespace rag::core
