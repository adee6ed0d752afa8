#pragma once

#include "core/headers.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace rag::core {

inline constexpr int k_record_version = 1;

// What rag answered a request it refused (an event's `rejected` object): a request the
// capture server would not take (400, 408, 413, 431, 501, 505) or one `--reject-invalid`
// answered 401.
struct Rejection
{
  int status = 0;     // the status the sender was answered
  std::string reason; // the reason rag gave, e.g. "request body too large"
  // Set when the body was not recorded (the server refused the request before it was
  // whole): how many body bytes rag had read of it (after de-chunking) and dropped.
  std::optional<std::uint64_t> body_dropped;

  bool operator==(const Rejection&) const = default;
};

// A captured request (an `event` line in the log). Bytes are kept as received.
struct Event
{
  std::string id;           // "evt_" + 26 Crockford base32 chars, time-sortable
  std::int64_t time_us = 0; // capture time, microseconds since the Unix epoch (UTC)
  std::string source;       // "listen:127.0.0.1:7777", "tunnel:URL", "import:FILE"
  std::string remote;       // peer address "IP:PORT" ("[::1]:PORT" for IPv6)
  std::string method;       // as sent, any token; empty for a refused unreadable request
  std::string target;       // raw request target (path + query) exactly as sent
  std::string http_version; // "HTTP/1.1" or "HTTP/1.0"; empty when it was never read
  Headers headers;          // in arrival order, duplicates and empty values kept
  std::string body;         // raw body bytes (de-chunked when `chunked`)
  bool chunked = false;     // the body arrived with Transfer-Encoding: chunked
  std::string verdict;      // signature verdict; empty when verification is off
  std::string relay_id;     // the id a relay gave the event (`rag tunnel`); else empty
  Headers trailers;         // chunked trailer fields, in arrival order; recorded, never forwarded
  std::optional<Rejection> rejected; // set when rag refused the request (what it answered)
};

// One attempt to deliver an event to a target (a `delivery` line in the log).
struct Delivery
{
  std::string id;           // "dlv_" + 26 chars
  std::string event_id;     // the event this delivery belongs to
  std::int64_t time_us = 0; // when the attempt started
  std::string target;       // full target URL
  int attempt = 1;          // 1 for the first try, 2.. for retries
  bool replay = false;      // sent by `rag replay`
  int status = 0;           // HTTP status; 0 when `error` is set
  std::int64_t duration_us = 0;
  Headers response_headers;
  std::string response_body; // bounded; `response_truncated` says it was cut
  bool response_truncated = false;
  std::string error; // "connection refused", "timeout after 30s", ...
};

using Record = std::variant<Event, Delivery>;

} // namespace rag::core
