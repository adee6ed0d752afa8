#include "core/har.hpp"

#include "core/json_bounded.hpp"
#include "core/log/record_time.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::json;

constexpr std::string_view k_base64 = "base64";

// ---------------------------------------------------------------------------
// Reading

const Json*
member(const Json& obj, const char* key)
{
  if (!obj.is_object()) {
    return nullptr;
  }
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const std::string*
string_member(const Json& obj, const char* key)
{
  const Json* value = member(obj, key);
  return value != nullptr && value->is_string() ? &value->get_ref<const std::string&>() : nullptr;
}

bool
is_base64_marked(const Json& obj, const char* key)
{
  const std::string* value = string_member(obj, key);
  return value != nullptr && util::iequals(*value, k_base64);
}

// Read one `{"name":…,"value":…}` of a request's headers (or trailers: `what` names
// them in errors), with rag's base64 forms for bytes that are not UTF-8.
Result<Header>
read_field(const Json& item, std::string_view what, std::size_t index)
{
  const std::string* name = string_member(item, "name");
  if (name == nullptr) {
    return error(fmt::format("request {} {} has no name", what, index));
  }
  const Json* value_json = member(item, "value");
  if (value_json != nullptr && !value_json->is_string()) {
    return error(fmt::format("request {} {} has a value that is not a string", what, index));
  }
  Header field{*name, value_json != nullptr ? value_json->get<std::string>() : std::string()};
  const std::string* raw_name = string_member(item, "_rag_name_base64");
  const std::string* raw_value = string_member(item, "_rag_value_base64");
  if (raw_name != nullptr && raw_value != nullptr) {
    auto decoded_name = util::base64_decode(*raw_name);
    auto decoded_value = util::base64_decode(*raw_value);
    if (!decoded_name || !decoded_value) {
      return error(fmt::format("request {} {} has invalid base64", what, index));
    }
    field = {std::move(decoded_name).value(), std::move(decoded_value).value()};
  }
  return field;
}

Result<Headers>
read_headers(const Json& request, std::string_view url)
{
  Headers headers;
  const Json* list = member(request, "headers");
  if (list != nullptr && !list->is_array()) {
    return error("request.headers is not an array");
  }
  std::optional<std::size_t> authority_at;
  std::string authority;
  bool has_host = false;
  std::size_t index = 0;
  for (const Json& item : list != nullptr ? *list : Json::array()) {
    ++index;
    RAG_TRY_ASSIGN(auto field, read_field(item, "header", index));
    auto& [header_name, value] = field;
    if (header_name.starts_with(":")) {
      // HTTP/2 pseudo-headers are not headers in HTTP/1.1; :authority is the Host.
      if (header_name == ":authority" && !authority_at) {
        authority_at = headers.size();
        authority = value;
      }
      continue;
    }
    has_host = has_host || util::iequals(header_name, "host");
    headers.emplace_back(std::move(header_name), std::move(value));
  }
  if (!has_host) {
    if (authority_at) {
      headers.insert(headers.begin() + static_cast<std::ptrdiff_t>(*authority_at),
                     Header{"Host", authority});
    } else if (const std::string host = url_authority(url); !host.empty()) {
      headers.insert(headers.begin(), Header{"Host", host});
    }
  }
  return headers;
}

// Read rag's `_rag_trailers` of a request (the form of its headers); absent is none.
Result<Headers>
read_trailers(const Json& request)
{
  Headers trailers;
  const Json* list = member(request, "_rag_trailers");
  if (list == nullptr || list->is_null()) {
    return trailers;
  }
  if (!list->is_array()) {
    return error("request._rag_trailers is not an array");
  }
  std::size_t index = 0;
  for (const Json& item : *list) {
    ++index;
    RAG_TRY_ASSIGN(Header field, read_field(item, "trailer", index));
    trailers.push_back(std::move(field));
  }
  return trailers;
}

// Read rag's `_rag_rejected` of an entry: what rag answered a request it refused.
Result<std::optional<Rejection>>
read_rejected(const Json& entry)
{
  const Json* rejected = member(entry, "_rag_rejected");
  if (rejected == nullptr || rejected->is_null()) {
    return std::optional<Rejection>();
  }
  const Json* status = member(*rejected, "status");
  const std::string* reason = string_member(*rejected, "reason");
  if (status == nullptr || !status->is_number_integer() || reason == nullptr) {
    return error("_rag_rejected needs an integer status and a reason");
  }
  const auto code = status->get<std::int64_t>();
  if (code < 100 || code > 599) {
    return error(fmt::format("_rag_rejected status {} is not an HTTP status", code));
  }
  Rejection out{static_cast<int>(code), *reason, std::nullopt};
  if (const Json* dropped = member(*rejected, "body_dropped"); dropped != nullptr) {
    if (!dropped->is_number_unsigned()) {
      return error("_rag_rejected.body_dropped is not a byte count");
    }
    out.body_dropped = dropped->get<std::uint64_t>();
  }
  return std::optional<Rejection>(std::move(out));
}

Result<std::string>
read_body(const Json& request)
{
  const Json* post = member(request, "postData");
  if (post == nullptr || post->is_null()) {
    return std::string();
  }
  if (!post->is_object()) {
    return error("request.postData is not an object");
  }
  const Json* text_json = member(*post, "text");
  if (text_json != nullptr && !text_json->is_null()) {
    if (!text_json->is_string()) {
      return error("request.postData.text is not a string");
    }
    const auto& body_text = text_json->get_ref<const std::string&>();
    for (const char* key : {"encoding", "_encoding"}) {
      const std::string* encoding = string_member(*post, key);
      if (encoding != nullptr && !encoding->empty() && !util::iequals(*encoding, k_base64)) {
        return error(fmt::format("request.postData.{} '{}' is not supported (only base64)", key,
                                 util::utf8_replace_invalid(*encoding)));
      }
    }
    if (!is_base64_marked(*post, "encoding") && !is_base64_marked(*post, "_encoding")) {
      return body_text;
    }
    auto bytes = util::base64_decode(body_text);
    if (!bytes) {
      return error("request.postData.text is marked base64 but is not valid base64");
    }
    return std::move(bytes).value();
  }
  const Json* params = member(*post, "params");
  if (params == nullptr || params->is_null()) {
    return std::string();
  }
  if (!params->is_array()) {
    return error("request.postData.params is not an array");
  }
  const std::string* mime = string_member(*post, "mimeType");
  if (mime != nullptr && util::to_lower(*mime).find("multipart/") != std::string::npos) {
    return error("request.postData has params but no text: a multipart body cannot be rebuilt");
  }
  std::vector<Param> pairs;
  std::size_t index = 0;
  for (const Json& item : *params) {
    ++index;
    const std::string* name = string_member(item, "name");
    if (name == nullptr) {
      return error(fmt::format("request.postData.params[{}] has no name", index));
    }
    if (member(item, "fileName") != nullptr) {
      return error("request.postData has a file param but no text: the body cannot be rebuilt");
    }
    const std::string* value = string_member(item, "value");
    pairs.emplace_back(*name, value != nullptr ? *value : std::string());
  }
  return form_urlencode(pairs);
}

Result<HarRequest>
read_entry(const Json& entry)
{
  if (!entry.is_object()) {
    return error("not an object");
  }
  const Json* request = member(entry, "request");
  if (request == nullptr || !request->is_object()) {
    return error("request is missing or not an object");
  }
  HarRequest out;
  Event& event = out.event;
  RAG_TRY_ASSIGN(event.rejected, read_rejected(entry));
  const std::string* method = string_member(*request, "method");
  // Only a request rag refused before reading its request line has no method.
  if (method == nullptr || (method->empty() && !event.rejected)) {
    return error("request.method is missing or not a string");
  }
  event.method = *method;
  const std::string* url = string_member(*request, "url");
  if (url == nullptr) {
    return error("request.url is missing or not a string");
  }
  if (const std::string* target = string_member(*request, "_rag_target")) {
    if (is_base64_marked(*request, "_rag_target_encoding")) {
      auto bytes = util::base64_decode(*target);
      if (!bytes) {
        return error("request._rag_target is not valid base64");
      }
      event.target = std::move(bytes).value();
    } else {
      event.target = *target;
    }
  } else {
    auto target_from_url = url_request_target(*url);
    if (!target_from_url) {
      return target_from_url.error();
    }
    event.target = std::move(target_from_url).value();
  }
  const std::string* version = string_member(*request, "httpVersion");
  // rag records HTTP/1.x; an h2/h3 capture is replayed as HTTP/1.1.
  event.http_version =
      version != nullptr && util::iequals(*version, "http/1.0") ? "HTTP/1.0" : "HTTP/1.1";
  RAG_TRY_ASSIGN(event.headers, read_headers(*request, *url));
  RAG_TRY_ASSIGN(event.body, read_body(*request));
  RAG_TRY_ASSIGN(event.trailers, read_trailers(*request));

  if (const Json* started = member(entry, "startedDateTime");
      started != nullptr && !started->is_null()) {
    if (!started->is_string()) {
      return error("startedDateTime is not a string");
    }
    auto time = parse_time_us(started->get_ref<const std::string&>());
    if (!time) {
      return error(fmt::format("startedDateTime '{}' is not an ISO 8601 time",
                               util::utf8_replace_invalid(started->get_ref<const std::string&>())));
    }
    event.time_us = *time;
    out.has_time = true;
  }
  if (const std::string* remote = string_member(entry, "_rag_remote")) {
    event.remote = *remote;
  }
  if (const Json* chunked = member(entry, "_rag_chunked"); chunked && chunked->is_boolean()) {
    event.chunked = chunked->get<bool>();
  }
  if (const std::string* verdict = string_member(entry, "_rag_verdict")) {
    event.verdict = *verdict;
  }
  return out;
}

// Strip nlohmann's "[json.exception.parse_error.101] " prefix from a message.
std::string
json_error_message(const std::exception& e)
{
  std::string message = e.what();
  if (message.starts_with("[json.exception.")) {
    const std::size_t close = message.find("] ");
    if (close != std::string::npos) {
      message.erase(0, close + 2);
    }
  }
  return message;
}

} // namespace
bool
looks_like_har(std::string_view in)
{
  std::string_view s = in;
  if (s.starts_with("\xEF\xBB\xBF")) {
    s.remove_prefix(3);
  }
  const auto skip_ws = [&] {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
      s.remove_prefix(1);
    }
  };
  skip_ws();
  if (!s.starts_with("{")) {
    return false;
  }
  s.remove_prefix(1);
  skip_ws();
  if (s.starts_with("\"log\"")) {
    return true;
  }
  // "log" may come after other members; a JSON Lines file fails to parse at its
  // second line, so this costs one record at most.
  const Json doc = parse_json_bounded<Json>(in);
  return !doc.is_discarded() && doc.is_object() && doc.contains("log");
}

Result<HarImport>
parse_har(std::string_view in)
{
  std::string_view s = in;
  if (s.starts_with("\xEF\xBB\xBF")) {
    s.remove_prefix(3);
  }
  // The throwing parse says where the JSON is wrong; the depth check comes first, as for
  // every foreign document (core/json_bounded.hpp).
  if (!json_depth_within(s)) {
    return error(fmt::format("not valid JSON: nested more than {} levels deep", k_json_max_depth));
  }
  Json doc;
  try {
    doc = Json::parse(s);
  } catch (const Json::exception& e) {
    return error(fmt::format("not valid JSON: {}", json_error_message(e)));
  }
  const Json* log = member(doc, "log");
  if (log == nullptr || !log->is_object()) {
    return error("not a HAR file: no \"log\" object");
  }
  const Json* entries = member(*log, "entries");
  if (entries == nullptr || !entries->is_array()) {
    return error("not a HAR file: log.entries is not an array");
  }
  HarImport result;
  result.total_entries = entries->size();
  std::size_t index = 0;
  for (const Json& entry : *entries) {
    ++index;
    auto request = read_entry(entry);
    if (!request) {
      result.skipped.push_back(fmt::format("entry {}: {}", index, request.error().message));
      continue;
    }
    request->index = index;
    result.requests.push_back(std::move(request).value());
  }
  return result;
}

} // namespace rag::core
