#include "core/log/record_parser.hpp"

#include "core/json_bounded.hpp"
#include "core/log/record_time.hpp"
#include "util/bytes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::json;

// Parsing: every access checks presence and type, so a hand-edited or damaged
// line becomes an Error with a short reason, never an exception.

Result<const Json*>
require(const Json& obj, const char* key)
{
  const auto it = obj.find(key);
  if (it == obj.end()) {
    return error(fmt::format("missing field '{}'", key));
  }
  return &*it;
}

const Json*
optional(const Json& obj, const char* key)
{
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Result<std::string>
as_string(const Json& value, const char* key)
{
  if (!value.is_string()) {
    return error(fmt::format("field '{}' is not a string", key));
  }
  return value.get_ref<const std::string&>();
}

Result<std::int64_t>
as_int(const Json& value, const char* key)
{
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return error(fmt::format("field '{}' is out of range", key));
    }
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) {
    return value.get<std::int64_t>();
  }
  return error(fmt::format("field '{}' is not an integer", key));
}

Result<bool>
as_bool(const Json& value, const char* key)
{
  if (!value.is_boolean()) {
    return error(fmt::format("field '{}' is not a boolean", key));
  }
  return value.get<bool>();
}

Result<std::string>
get_string(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(const Json* value, require(obj, key));
  return as_string(*value, key);
}

// An id names files (`rag export --format curl -o` writes ID.body beside its script)
// and goes into commands, and a shared log may hold anything: so an id is 1 to 64
// letters, digits, '_' or '-', or the line is not a record.
Result<std::string>
get_id(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(std::string id, get_string(obj, key));
  const bool plain =
      !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               c == '_' || c == '-';
      });
  if (!plain) {
    return error(fmt::format("field '{}' is not an id (letters, digits, '_', '-')", key));
  }
  return id;
}

Result<std::int64_t>
get_int(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(const Json* value, require(obj, key));
  return as_int(*value, key);
}

Result<std::int64_t>
get_time(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(std::string text, get_string(obj, key));
  auto t = parse_time_us(text);
  if (!t) {
    return error(fmt::format("field '{}' is not an RFC 3339 time", key));
  }
  return *t;
}

Result<int>
get_small_int(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(std::int64_t value, get_int(obj, key));
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return error(fmt::format("field '{}' is out of range", key));
  }
  return static_cast<int>(value);
}

// Check an optional `<key>` encoding field: absent means plain text, "base64" means
// the text must be decoded.
Result<bool>
get_is_base64(const Json& obj, const char* key)
{
  const Json* value = optional(obj, key);
  if (value == nullptr) {
    return false;
  }
  RAG_TRY_ASSIGN(std::string encoding, as_string(*value, key));
  if (encoding != "base64") {
    return error(fmt::format("unsupported {} '{}'", key, encoding));
  }
  return true;
}

Result<std::string>
decode_base64_field(const std::string& text, const char* key)
{
  auto bytes = util::base64_decode(text);
  if (!bytes) {
    return error(fmt::format("field '{}' is not valid base64", key));
  }
  return std::move(bytes).value();
}

Result<Headers>
get_headers(const Json& obj, const char* key)
{
  RAG_TRY_ASSIGN(const Json* value, require(obj, key));
  if (!value->is_array()) {
    return error(fmt::format("field '{}' is not an array", key));
  }
  Headers headers;
  headers.reserve(value->size());
  std::size_t index = 0;
  for (const auto& pair : *value) {
    ++index;
    const bool base64 = pair.is_array() && pair.size() == 3 && pair[2].is_string() &&
                        pair[2].get_ref<const std::string&>() == "base64";
    if (!pair.is_array() || (pair.size() != 2 && !base64) || !pair[0].is_string() ||
        !pair[1].is_string()) {
      return error(fmt::format("header {} is not a [name, value] pair", index));
    }
    const auto& name = pair[0].get_ref<const std::string&>();
    const auto& val = pair[1].get_ref<const std::string&>();
    if (!base64) {
      headers.emplace_back(name, val);
      continue;
    }
    auto raw_name = util::base64_decode(name);
    auto raw_value = util::base64_decode(val);
    if (!raw_name || !raw_value) {
      return error(fmt::format("header {} is not valid base64", index));
    }
    headers.emplace_back(std::move(raw_name).value(), std::move(raw_value).value());
  }
  return headers;
}

// Read `body`, `body_encoding` and `body_size` of `obj` and return the raw bytes.
Result<std::string>
get_body(const Json& obj)
{
  RAG_TRY_ASSIGN(std::string text, get_string(obj, "body"));
  RAG_TRY_ASSIGN(bool base64, get_is_base64(obj, "body_encoding"));
  std::string body;
  if (base64) {
    RAG_TRY_ASSIGN(body, decode_base64_field(text, "body"));
  } else {
    body = std::move(text);
  }
  RAG_TRY_ASSIGN(std::int64_t size, get_int(obj, "body_size"));
  if (size < 0 || static_cast<std::uint64_t>(size) != body.size()) {
    return error(fmt::format("body_size {} does not match the body ({} bytes)", size, body.size()));
  }
  return body;
}

// Read an event's `rejected` object: a status rag could have answered and its reason,
// and how many body bytes were dropped when the body was not recorded.
Result<Rejection>
get_rejection(const Json& value)
{
  if (!value.is_object()) {
    return error("field 'rejected' is not an object");
  }
  Rejection rejection;
  RAG_TRY_ASSIGN(rejection.status, get_small_int(value, "status"));
  if (rejection.status < 100 || rejection.status > 599) {
    return error(fmt::format("rejected status {} is not an HTTP status", rejection.status));
  }
  RAG_TRY_ASSIGN(rejection.reason, get_string(value, "reason"));
  if (const Json* dropped = optional(value, "body_dropped")) {
    RAG_TRY_ASSIGN(const std::int64_t bytes, as_int(*dropped, "body_dropped"));
    if (bytes < 0) {
      return error("field 'body_dropped' is negative");
    }
    rejection.body_dropped = static_cast<std::uint64_t>(bytes);
  }
  return rejection;
}

Result<Event>
parse_event(const Json& obj)
{
  Event event;
  RAG_TRY_ASSIGN(event.id, get_id(obj, "id"));
  RAG_TRY_ASSIGN(event.time_us, get_time(obj, "time"));
  RAG_TRY_ASSIGN(event.source, get_string(obj, "source"));
  RAG_TRY_ASSIGN(event.remote, get_string(obj, "remote"));
  RAG_TRY_ASSIGN(event.method, get_string(obj, "method"));
  RAG_TRY_ASSIGN(std::string target, get_string(obj, "target"));
  RAG_TRY_ASSIGN(bool target_base64, get_is_base64(obj, "target_encoding"));
  if (target_base64) {
    RAG_TRY_ASSIGN(event.target, decode_base64_field(target, "target"));
  } else {
    event.target = std::move(target);
  }
  RAG_TRY_ASSIGN(event.http_version, get_string(obj, "http_version"));
  RAG_TRY_ASSIGN(event.headers, get_headers(obj, "headers"));
  RAG_TRY_ASSIGN(event.body, get_body(obj));
  RAG_TRY_ASSIGN(std::string sha256, get_string(obj, "body_sha256"));
  // The digest is cheap next to JSON parsing and catches a line damaged in a way
  // that still parses (a flipped character inside the body text).
  if (sha256 != util::sha256_hex(event.body)) {
    return error("body_sha256 does not match the body");
  }
  if (const Json* chunked = optional(obj, "chunked")) {
    RAG_TRY_ASSIGN(event.chunked, as_bool(*chunked, "chunked"));
  }
  if (const Json* verdict = optional(obj, "verdict")) {
    RAG_TRY_ASSIGN(event.verdict, as_string(*verdict, "verdict"));
  }
  if (const Json* relay_id = optional(obj, "relay_id")) {
    RAG_TRY_ASSIGN(event.relay_id, as_string(*relay_id, "relay_id"));
  }
  if (optional(obj, "trailers") != nullptr) {
    RAG_TRY_ASSIGN(event.trailers, get_headers(obj, "trailers"));
  }
  if (const Json* rejected = optional(obj, "rejected")) {
    RAG_TRY_ASSIGN(event.rejected, get_rejection(*rejected));
  }
  return event;
}

Result<Delivery>
parse_delivery(const Json& obj)
{
  Delivery delivery;
  RAG_TRY_ASSIGN(delivery.id, get_id(obj, "id"));
  RAG_TRY_ASSIGN(delivery.event_id, get_id(obj, "event_id"));
  RAG_TRY_ASSIGN(delivery.time_us, get_time(obj, "time"));
  RAG_TRY_ASSIGN(delivery.target, get_string(obj, "target"));
  RAG_TRY_ASSIGN(delivery.attempt, get_small_int(obj, "attempt"));
  RAG_TRY_ASSIGN(const Json* replay, require(obj, "replay"));
  RAG_TRY_ASSIGN(delivery.replay, as_bool(*replay, "replay"));
  RAG_TRY_ASSIGN(delivery.status, get_small_int(obj, "status"));
  RAG_TRY_ASSIGN(const Json* duration, require(obj, "duration_ms"));
  if (!duration->is_number()) {
    return error("field 'duration_ms' is not a number");
  }
  const double duration_ms = duration->get<double>();
  if (!std::isfinite(duration_ms) || std::fabs(duration_ms) > 9.0e12) {
    return error("field 'duration_ms' is out of range");
  }
  delivery.duration_us = std::llround(duration_ms * 1000.0);

  const Json* error_field = optional(obj, "error");
  if (error_field != nullptr) {
    RAG_TRY_ASSIGN(delivery.error, as_string(*error_field, "error"));
  }
  const Json* response = optional(obj, "response");
  if (response == nullptr) {
    if (error_field == nullptr) {
      return error("missing field 'response'");
    }
    return delivery;
  }
  if (!response->is_object()) {
    return error("field 'response' is not an object");
  }
  RAG_TRY_ASSIGN(delivery.response_headers, get_headers(*response, "headers"));
  RAG_TRY_ASSIGN(delivery.response_body, get_body(*response));
  RAG_TRY_ASSIGN(const Json* truncated, require(*response, "truncated"));
  RAG_TRY_ASSIGN(delivery.response_truncated, as_bool(*truncated, "truncated"));
  return delivery;
}

Result<Record>
parse_record_unchecked(std::string_view line)
{
  if (line.empty()) {
    return error("empty line");
  }
  // Log lines are foreign too (hand edits, other tools, a damaged file); unknown fields
  // are ignored however deep, known ones are never that deep.
  const Json obj = parse_json_dropping_deep<Json>(line);
  if (obj.is_discarded()) {
    return error("not valid JSON");
  }
  if (!obj.is_object()) {
    return error("not a JSON object");
  }
  RAG_TRY_ASSIGN(std::int64_t version, get_int(obj, "v"));
  if (version > k_record_version) {
    return error(fmt::format("unsupported record version {}", version));
  }
  if (version < 1) {
    return error(fmt::format("invalid record version {}", version));
  }
  RAG_TRY_ASSIGN(std::string kind, get_string(obj, "kind"));
  if (kind == "event") {
    RAG_TRY_ASSIGN(Event event, parse_event(obj));
    return Record(std::move(event));
  }
  if (kind == "delivery") {
    RAG_TRY_ASSIGN(Delivery delivery, parse_delivery(obj));
    return Record(std::move(delivery));
  }
  return error(fmt::format("unknown record kind '{}'", util::utf8_replace_invalid(kind)));
}

} // namespace

std::string_view
raw_record_id(std::string_view line)
{
  constexpr std::string_view key = "\"id\":\"";
  const std::size_t pos = line.find(key);
  if (pos == std::string_view::npos) {
    return {};
  }
  const std::size_t start = pos + key.size();
  const std::size_t end = line.find('"', start);
  return end == std::string_view::npos ? std::string_view() : line.substr(start, end - start);
}

bool
raw_is_delivery(std::string_view line)
{
  return line.substr(0, 40).find("\"kind\":\"delivery\"") != std::string_view::npos;
}

Result<Record>
parse_record(std::string_view line)
{
  // parse(..., allow_exceptions=false) reports syntax errors as a discarded value,
  // but allocation or nesting-depth failures can still throw; none may escape.
  try {
    return parse_record_unchecked(line);
  } catch (const std::bad_alloc&) {
    return error("line too large to parse");
  } catch (const std::exception& e) {
    return error(fmt::format("cannot parse: {}", e.what()));
  }
}

} // namespace rag::core
