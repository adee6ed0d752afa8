#include "core/forward_plan.hpp"

#include "core/http_syntax.hpp"
#include "util/text.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <utility>

namespace rag::core {

namespace {

constexpr std::size_t k_npos = std::string_view::npos;

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
  const TargetParts incoming = split_target(incoming_target);
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
