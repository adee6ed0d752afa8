#pragma once

// What a forwarded request looks like on the wire: path mapping for --forward-to and
// --route, and the header rewrite (hop-by-hop, Host, X-Forwarded-*, framing). Targets
// and URLs themselves are core/url.hpp (included, so callers get both). Pure
// functions: no sockets, no clock.

#include "core/record.hpp"
#include "core/url.hpp"
#include "util/result.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// A --route PREFIX=URL. `prefix` is normalised without a trailing '/', so the
// route "/" has the empty prefix and matches every origin-form path.
struct Route
{
  std::string prefix;
  Target target;
};

// Parse "PREFIX=URL" (split at the first '='); PREFIX must start with '/'.
Result<Route> parse_route(std::string_view spec);

// Return true when the path of `incoming_target` equals `prefix` or continues it
// at a segment boundary ("/github" matches "/github", "/github/x", "/github?q",
// never "/githubx"). The empty prefix matches every path that starts with '/'.
bool route_matches(std::string_view prefix, std::string_view incoming_target);

// Return the request target (path + query) to send to `target` for
// `incoming_target`: the target's path replaces the incoming path when it has
// one; otherwise the incoming path is kept with `strip_prefix` removed (an
// emptied path becomes "/"). The incoming query is always kept, raw; a query in
// the target URL goes first, joined with '&'.
std::string map_target(const Target& target, std::string_view incoming_target,
                       std::string_view strip_prefix = {});

// Facts about how the request arrived that the header rewrite needs.
struct ForwardContext
{
  std::string remote_ip;      // sender's IP without port, for X-Forwarded-For
  std::string proto = "http"; // scheme the sender used, for X-Forwarded-Proto
  bool preserve_host = false; // keep the sender's Host (--preserve-host)
};

// One request ready for the wire. The client writes exactly
// "METHOD TARGET HTTP/1.1", these headers in this order, then the body: it adds
// nothing. The body is shared, so fanning one event out to several targets
// never copies it.
struct OutgoingRequest
{
  std::string method;
  std::string target;                       // raw path + query for the request line
  Headers headers;                          // final, in wire order, Content-Length included
  std::shared_ptr<const std::string> body;  // null means no body
  std::vector<std::string> refused_headers; // names dropped because unsafe to send

  // Return the body bytes (empty when there is none).
  std::string_view body_view() const { return body ? std::string_view(*body) : std::string_view(); }
};

// Return true for hop-by-hop header names (RFC 9110 §7.6.1): Connection,
// Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
// Trailer, Transfer-Encoding, Upgrade (ASCII case ignored).
bool is_hop_by_hop(std::string_view name);

// Return `headers` without hop-by-hop headers and without the headers that a
// Connection header names; order, case and duplicates of the rest are kept
// (e.g. a target's response headers before they are relayed to the sender).
Headers strip_hop_by_hop(const Headers& headers);

// Rewrite the sender's headers for `target`, keeping order, case and duplicates:
// hop-by-hop and Connection-named headers are dropped; the first Host is given
// the target's host (unless preserve_host) and later ones dropped, or Host is
// added first when missing; Content-Length is set to `body_size` where the
// sender's Content-Length or Transfer-Encoding was (a chunked body goes out with
// Content-Length), appended when the body is not empty or the method is
// POST/PUT/PATCH, and left out otherwise; X-Forwarded-For gets the sender's IP
// appended to its last occurrence (or is added); X-Forwarded-Host (the original
// Host) and X-Forwarded-Proto are added unless the sender already set them. A
// header whose name is not a token or whose value holds CR, LF or NUL is dropped
// and its name (control bytes shown as '?') added to `refused`.
Headers forward_headers(const Headers& incoming, std::string_view method, std::size_t body_size,
                        const Target& target, const ForwardContext& context,
                        std::vector<std::string>& refused);

// Build the request that forwards an incoming request to `target`: method kept,
// target mapped by map_target (with `strip_prefix`), headers by forward_headers,
// body shared. A method that is not a token or an incoming target with spaces or
// control bytes is an Error (it cannot be put on a request line).
Result<OutgoingRequest>
plan_request(const Target& target, std::string_view method, std::string_view incoming_target,
             const Headers& incoming_headers, std::shared_ptr<const std::string> body,
             const ForwardContext& context, std::string_view strip_prefix = {});

// Return the exact request head ("METHOD TARGET HTTP/1.1\r\n", headers, "\r\n")
// for `request`. Content-Length is appended when the headers lack it and the body
// is not empty. Unsafe bytes in the method, target or headers, a Content-Length
// that disagrees with the body, or a Transfer-Encoding header are an Error: the
// head is never written with anything that could split or reframe it.
Result<std::string> serialize_request_head(const OutgoingRequest& request);

// Return the IP part of a peer address "IP:PORT" or "[IPv6]:PORT" (the input
// itself when it has no port).
std::string remote_ip_of(std::string_view remote);

} // namespace rag::core
