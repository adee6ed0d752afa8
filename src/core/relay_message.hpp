#pragma once

// The messages `rag relay` streams to its subscribers and `rag tunnel` reads, in
// the smee.io-compatible form with rag's byte-exact extension (docs/relay-protocol.md).

#include "core/record.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace rag::core {

// A webhook as it travels through a relay.
struct RelayedRequest
{
  // Which part of a message a RelayedRequest was read from, best first.
  enum class Form {
    rag,    // rag's object: method, target, headers and body byte-exact
    body_b, // gosmee's `bodyB`: raw body; headers from the top-level keys
    body,   // smee's parsed `body`, serialised again as JSON (not byte-exact)
  };

  std::string id;           // the relay's event id, also the SSE `id:`; may be empty
  std::int64_t time_us = 0; // when the relay received it (ms precision from smee)
  std::string method = "POST";
  std::string target = "/"; // raw target relative to the channel: "/" + sub-path + "?" + query
  std::string http_version = "HTTP/1.1";
  Headers headers; // original order and case (lower-cased names outside Form::rag)
  std::string body;
  std::string remote; // the sender as the relay saw it, "IP:PORT"; empty when unknown
  std::string reply;  // sync mode: path on the relay to POST the answer to; else empty
  Form form = Form::rag;
};

// Return the `data` of the SSE message announcing `request`: one line of JSON with
// smee's fields (every header as a lower-cased top-level key, duplicates joined with
// ", "; `body` = the parsed JSON body, or the form fields of an
// application/x-www-form-urlencoded body as an object, else {}; `query` = the
// target's query as an object; `timestamp` = milliseconds), gosmee's `bodyB` (the raw
// body, base64) and the `rag` object (v, id, time, method, target, http_version,
// headers as [name, value] pairs, body_b64, remote, and reply when not empty).
std::string relay_message_json(const RelayedRequest& request);

// Parse the `data` of a message from a rag relay, smee.io or gosmee: from the `rag`
// object when present, else headers from the top-level keys (all but body, bodyB,
// query, timestamp and rag) with the body from `bodyB`, else from `body` serialised as
// compact JSON; method POST and target "/" plus the `query` object. An Error names
// what is wrong when `data` is not a JSON object or a field has the wrong type.
Result<RelayedRequest> parse_relay_message(std::string_view data);

// The local service's answer a tunnel posts back to the relay in sync mode.
struct RelayReply
{
  int status = 0;
  Headers headers;
  std::string body;
};

// Return the JSON body of a reply: {"status":N,"headers":[[n,v],...],"body_b64":"..."}.
std::string relay_reply_json(const RelayReply& reply);

// Parse a reply body; an Error names the missing or malformed field (status must be
// 100..599).
Result<RelayReply> parse_relay_reply(std::string_view json);

} // namespace rag::core
