#pragma once

// The messages `rag relay` streams to its subscribers and `rag tunnel` reads, in
// the smee.io-compatible form with rag's byte-exact extension (docs/relay-protocol.md).

#include "core/record.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// What a subscriber's messages carry besides smee.io's fields (every header as a
// top-level key, `body`, `query`, `timestamp`); a relay picks it per subscriber
// (docs/relay-protocol.md, "Who gets which fields").
struct MessageFields
{
  bool body_b = false; // gosmee's `bodyB`: the raw body, base64
  bool rag = false;    // rag's `rag` object: the request byte-exact
};

// The message announcing one request, serialised once for every kind of subscriber:
// the smee.io part, the body in base64 (shared by `bodyB` and `rag.body_b64`) and the
// rest of the `rag` object are held once, and each subscriber's message is a
// concatenation of them.
class RelayMessage
{
public:
  RelayMessage() = default;
  // Serialise `request` (the fields are described at relay_message_json).
  explicit RelayMessage(const RelayedRequest& request);

  // Append to `out` the pieces whose concatenation is the message for a subscriber
  // that gets `fields`: one line of JSON. They point into this object.
  void append_pieces(MessageFields fields, std::vector<std::string_view>& out) const;
  // Return the message for a subscriber that gets `fields`, in one string.
  std::string json(MessageFields fields) const;
  // Return the bytes this message holds, for every kind of subscriber together.
  std::size_t size() const { return m_smee.size() + m_body_b64.size() + m_rag.size(); }

private:
  std::string m_smee;     // "{" + headers, body, query and timestamp; no closing brace
  std::string m_body_b64; // the raw body, base64
  std::string m_rag;      // ',"rag":{' + its fields, ending in '"body_b64":"'
};

// Return the `data` of the SSE message announcing `request` with every field: one line
// of JSON with smee's fields (every header as a lower-cased top-level key, duplicates
// joined with ", ", except headers named like the message's own fields; `body` = the
// JSON body as sent (whitespace aside) when it is valid JSON and valid UTF-8 nested at
// most k_json_max_depth - 1 deep, or the form fields of an
// application/x-www-form-urlencoded body as an object, else {}; `query` = the target's
// query as an object; `timestamp` = milliseconds), gosmee's `bodyB` (the raw body,
// base64) and the `rag` object (v, id, time, method, target, http_version, headers as
// [name, value] pairs, remote, reply when not empty, body_b64).
std::string relay_message_json(const RelayedRequest& request);

// Parse the `data` of a message from a rag relay, smee.io or gosmee: from the `rag`
// object when present, else headers from the top-level keys (all but body, bodyB,
// query, timestamp and rag) with the body from `bodyB`, else from `body` serialised as
// compact JSON; method POST and target "/" plus the `query` object. An Error names
// what is wrong when `data` is not a JSON object nested at most k_json_max_depth deep
// or a field has the wrong type. The `body` is only stored when it is needed.
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
// 100..599) or says it is not a JSON object nested at most k_json_max_depth deep.
Result<RelayReply> parse_relay_reply(std::string_view json);

} // namespace rag::core
