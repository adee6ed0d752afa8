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

// A captured request (an `event` line in the log). Bytes are kept as received.
struct Event
{
  std::string id;           // "evt_" + 26 Crockford base32 chars, time-sortable
  std::int64_t time_us = 0; // capture time, microseconds since the Unix epoch (UTC)
  std::string source;       // "listen:127.0.0.1:7777", "tunnel:URL", "import:FILE"
  std::string remote;       // peer address "IP:PORT" ("[::1]:PORT" for IPv6)
  std::string method;       // as sent, any token
  std::string target;       // raw request target (path + query) exactly as sent
  std::string http_version; // "HTTP/1.1" or "HTTP/1.0"
  Headers headers;          // in arrival order, duplicates and empty values kept
  std::string body;         // raw body bytes (de-chunked when `chunked`)
  bool chunked = false;     // the body arrived with Transfer-Encoding: chunked
  std::string verdict;      // signature verdict; empty when verification is off
  std::string relay_id;     // the id a relay gave the event (`rag tunnel`); else empty
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
