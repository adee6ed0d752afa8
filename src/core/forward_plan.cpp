#include "core/forward_plan.hpp"

#include "core/http_syntax.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace rag::core {

namespace {

constexpr std::size_t k_npos = std::string_view::npos;

constexpr std::string_view k_target_hint =
    "give a port (3000), HOST:PORT[/PATH] or an http:// or https:// URL";

// Bytes that may never appear in a request target: they would end or split the
// request line. obs-text (0x80-0xFF) is kept as the sender sent it.
bool
is_target_safe(std::string_view text)
{
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

// A header value that could split or end the head (CR, LF) or truncate it in C
// string handling on the other side (NUL) is never sent.
bool
is_value_safe(std::string_view value)
{
  return value.find_first_of(std::string_view("\r\n\0", 3)) == k_npos;
}

std::string
printable_name(std::string_view name)
{
  std::string out(name);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      c = '?';
    }
  }
  return out;
}

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

} // namespace

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
  const std::size_t path_start = rest.find_first_of("/?#");
  rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  rest = rest.substr(0, rest.find('#'));
  // A query without a path ("http://h?x") asks for "/?x".
  const bool needs_slash = rest.empty() || rest.front() != '/';
  exact.request_target = fmt::format("{}{}", needs_slash ? "/" : "", rest);
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

namespace {

bool
is_ipv6_char(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

// Split a raw request target into its path and query. An absolute-form target
// ("http://host/p?q") contributes only its path; "*" stays "*".
struct SplitTarget
{
  std::string_view path;
  std::string_view query;
  bool has_query = false;
};

SplitTarget
split_target(std::string_view raw)
{
  if (const std::size_t hash = raw.find('#'); hash != k_npos) {
    raw = raw.substr(0, hash);
  }
  if (const std::size_t scheme_end = raw.find("://");
      scheme_end != k_npos && !raw.empty() && raw.front() != '/') {
    const std::size_t path_start = raw.find_first_of("/?", scheme_end + 3);
    raw = path_start == k_npos ? std::string_view() : raw.substr(path_start);
  }
  SplitTarget split;
  const std::size_t question = raw.find('?');
  split.path = raw.substr(0, question);
  if (question != k_npos) {
    split.query = raw.substr(question + 1);
    split.has_query = true;
  }
  return split;
}

std::string_view
strip_route_prefix(std::string_view path, std::string_view prefix)
{
  if (prefix.empty() || path.substr(0, prefix.size()) != prefix) {
    return path;
  }
  return path.substr(prefix.size());
}

constexpr std::array<std::string_view, 9> k_hop_by_hop = {"connection",
                                                          "keep-alive",
                                                          "proxy-connection",
                                                          "proxy-authenticate",
                                                          "proxy-authorization",
                                                          "te",
                                                          "trailer",
                                                          "transfer-encoding",
                                                          "upgrade"};

bool
contains_lower(const std::vector<std::string>& lower_names, std::string_view name)
{
  return std::any_of(lower_names.begin(), lower_names.end(),
                     [&](const std::string& lower) { return util::iequals(lower, name); });
}

bool
method_expects_body(std::string_view method)
{
  return method == "POST" || method == "PUT" || method == "PATCH";
}

} // namespace

Result<Target>
parse_target(std::string_view text)
{
  if (text.empty()) {
    return target_error(text, "it is empty");
  }
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      return target_error(text, "it contains spaces or control characters");
    }
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

Result<Route>
parse_route(std::string_view spec)
{
  const std::size_t equals = spec.find('=');
  if (equals == k_npos) {
    return usage_error(fmt::format("invalid route '{}': expected PREFIX=URL", spec),
                       "for example --route /github=http://localhost:3000/webhooks");
  }
  std::string_view prefix = spec.substr(0, equals);
  if (prefix.empty() || prefix.front() != '/') {
    return usage_error(fmt::format("invalid route '{}': the prefix must start with '/'", spec),
                       "for example --route /github=3000");
  }
  if (!is_target_safe(prefix) || prefix.find_first_of("?#") != k_npos) {
    return usage_error(fmt::format(
        "invalid route '{}': the prefix must be a plain path (no spaces, '?' or '#')", spec));
  }
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  RAG_TRY_ASSIGN(Target target, parse_target(spec.substr(equals + 1)));
  return Route{std::string(prefix), std::move(target)};
}

bool
route_matches(std::string_view prefix, std::string_view incoming_target)
{
  const std::string_view path = split_target(incoming_target).path;
  if (path.empty() || path.front() != '/') {
    return false;
  }
  if (path.substr(0, prefix.size()) != prefix) {
    return false;
  }
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string
map_target(const Target& target, std::string_view incoming_target, std::string_view strip_prefix)
{
  const SplitTarget incoming = split_target(incoming_target);
  std::string out;
  if (!target.path.empty()) {
    out = target.path;
  } else {
    out = std::string(strip_route_prefix(incoming.path, strip_prefix));
  }
  if (out.empty()) {
    out = "/";
  }
  if (!target.query.empty() || incoming.has_query) {
    out += '?';
    out += target.query;
    if (!target.query.empty() && !incoming.query.empty()) {
      out += '&';
    }
    out += incoming.query;
  }
  return out;
}

bool
is_hop_by_hop(std::string_view name)
{
  return std::any_of(k_hop_by_hop.begin(), k_hop_by_hop.end(),
                     [&](std::string_view lower) { return util::iequals(name, lower); });
}

Headers
strip_hop_by_hop(const Headers& headers)
{
  const std::vector<std::string> named = connection_options(headers);
  Headers out;
  out.reserve(headers.size());
  for (const auto& header : headers) {
    if (!is_hop_by_hop(header.first) && !contains_lower(named, header.first)) {
      out.push_back(header);
    }
  }
  return out;
}

Headers
forward_headers(const Headers& incoming, std::string_view method, std::size_t body_size,
                const Target& target, const ForwardContext& context,
                std::vector<std::string>& refused)
{
  const std::vector<std::string> named = connection_options(incoming);
  Headers out;
  out.reserve(incoming.size() + 4);
  std::string original_host;
  bool host_seen = false;
  std::size_t framing_at = k_npos; // where the sender's framing header was
  std::string framing_name = "Content-Length";

  for (const auto& [name, value] : incoming) {
    if (!http::is_token(name) || !is_value_safe(value)) {
      refused.push_back(printable_name(name));
      continue;
    }
    // Framing and Host are ours to set whatever a Connection header says about them.
    if (util::iequals(name, "content-length")) {
      if (framing_at == k_npos) {
        framing_at = out.size();
        framing_name = name;
      }
      continue;
    }
    if (util::iequals(name, "host")) {
      if (!host_seen) {
        host_seen = true;
        original_host = value;
        out.emplace_back(name, context.preserve_host ? value : host_header_value(target));
      }
      continue;
    }
    if (is_hop_by_hop(name) || contains_lower(named, name)) {
      if (framing_at == k_npos && util::iequals(name, "transfer-encoding")) {
        // The de-chunked body goes out with Content-Length in the same place.
        framing_at = out.size();
      }
      continue;
    }
    out.emplace_back(name, value);
  }

  if (!host_seen) {
    out.insert(out.begin(), Header{"Host", host_header_value(target)});
    if (framing_at != k_npos) {
      ++framing_at;
    }
  }
  if (framing_at != k_npos) {
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(framing_at),
               Header{framing_name, std::to_string(body_size)});
  } else if (body_size > 0 || method_expects_body(method)) {
    // Some servers wait for EOF on a POST without framing; an explicit 0 never hurts.
    out.emplace_back("Content-Length", std::to_string(body_size));
  }

  if (!context.remote_ip.empty()) {
    auto last = std::find_if(out.rbegin(), out.rend(), header_named("x-forwarded-for"));
    if (last != out.rend()) {
      last->second =
          last->second.empty() ? context.remote_ip : last->second + ", " + context.remote_ip;
    } else {
      out.emplace_back("X-Forwarded-For", context.remote_ip);
    }
  }
  // A proxy in front of rag (a tunnel relay) knows the original host and scheme better.
  if (!original_host.empty() && !has_header(out, "x-forwarded-host")) {
    out.emplace_back("X-Forwarded-Host", original_host);
  }
  if (!context.proto.empty() && !has_header(out, "x-forwarded-proto")) {
    out.emplace_back("X-Forwarded-Proto", context.proto);
  }
  return out;
}

Result<OutgoingRequest>
plan_request(const Target& target, std::string_view method, std::string_view incoming_target,
             const Headers& incoming_headers, std::shared_ptr<const std::string> body,
             const ForwardContext& context, std::string_view strip_prefix)
{
  if (!http::is_token(method)) {
    return error(fmt::format("cannot forward a request with method '{}'", printable_name(method)));
  }
  if (incoming_target.empty() || !is_target_safe(incoming_target)) {
    return error("cannot forward a request whose target has spaces or control characters");
  }
  OutgoingRequest request;
  request.method = std::string(method);
  request.target = map_target(target, incoming_target, strip_prefix);
  const std::size_t body_size = body ? body->size() : 0;
  request.headers = forward_headers(incoming_headers, method, body_size, target, context,
                                    request.refused_headers);
  request.body = std::move(body);
  return request;
}

Result<std::string>
serialize_request_head(const OutgoingRequest& request)
{
  if (!http::is_token(request.method)) {
    return error(fmt::format("refusing to send method '{}'", printable_name(request.method)));
  }
  if (request.target.empty() || !is_target_safe(request.target)) {
    return error("refusing to send a request target with spaces or control characters");
  }
  const std::size_t body_size = request.body ? request.body->size() : 0;
  const std::string length = std::to_string(body_size);
  std::size_t size = request.method.size() + request.target.size() + 16;
  bool has_length = false;
  for (const auto& [name, value] : request.headers) {
    if (!http::is_token(name) || !is_value_safe(value)) {
      return error(
          fmt::format("refusing to send header '{}': unsafe bytes in it", printable_name(name)));
    }
    if (util::iequals(name, "transfer-encoding")) {
      return error("refusing to send Transfer-Encoding: bodies go out with Content-Length");
    }
    if (util::iequals(name, "content-length")) {
      if (http::trim_ows(value) != length) {
        return error(
            fmt::format("Content-Length {} does not match the {}-byte body", value, body_size));
      }
      has_length = true;
    }
    size += name.size() + value.size() + 4;
  }
  std::string head;
  head.reserve(size + 32);
  head.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  for (const auto& [name, value] : request.headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_length && body_size > 0) {
    head.append("Content-Length: ").append(length).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

std::string
remote_ip_of(std::string_view remote)
{
  if (!remote.empty() && remote.front() == '[') {
    const std::size_t close = remote.find(']');
    return std::string(close == k_npos ? remote.substr(1) : remote.substr(1, close - 1));
  }
  const std::size_t colon = remote.rfind(':');
  if (colon == k_npos || remote.find(':') != colon) {
    // No port, or a bare IPv6 address.
    return std::string(remote);
  }
  return std::string(remote.substr(0, colon));
}

} // namespace rag::core
