#include "core/relay_message.hpp"

#include "core/har.hpp"
#include "core/headers.hpp"
#include "core/json_bounded.hpp"
#include "core/log/record_time.hpp"
#include "core/url.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

namespace rag::core {

namespace {

using Json = nlohmann::ordered_json;

// Top-level keys of a message that are not request headers.
bool
is_message_field(std::string_view key)
{
  return key == "body" || key == "bodyB" || key == "query" || key == "timestamp" || key == "rag";
}

// Header values and form fields are arbitrary bytes; JSON strings must be UTF-8.
std::string
utf8(std::string_view text)
{
  return util::is_valid_utf8(text) ? std::string(text) : util::utf8_replace_invalid(text);
}

bool
is_form_urlencoded(const Headers& headers)
{
  const std::string* value = find_header(headers, "content-type");
  if (value == nullptr) {
    return false;
  }
  const std::string type = util::to_lower(value->substr(0, value->find(';')));
  return type.find("application/x-www-form-urlencoded") != std::string::npos;
}

// An object of the decoded fields of `params`; a repeated name keeps its last value.
Json
params_object(const std::vector<Param>& params)
{
  Json object = Json::object();
  for (const auto& [name, value] : params) {
    object[utf8(name)] = utf8(value);
  }
  return object;
}

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

// Append smee's `body` to `out`: the JSON body as sent, the fields of a form body as an
// object, else {}. A JSON body is spliced in rather than parsed and serialised again:
// no document is built (a 25 MiB body used to cost 30 times its size), the sender's
// numbers keep their precision, and nothing recurses over its nesting.
void
append_smee_body(const RelayedRequest& request, std::string& out)
{
  if (request.body.empty()) {
    out += "{}";
    return;
  }
  if (is_form_urlencoded(request.headers)) {
    out += params_object(parse_query("?" + request.body))
               .dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  std::string_view text = request.body;
  // nlohmann skips a leading BOM; inside the message it would not be JSON.
  if (text.starts_with(k_bom)) {
    text.remove_prefix(k_bom.size());
  }
  // One level less than the cap: the body sits inside the message, and every message
  // a relay writes must pass the cap of the tunnel that reads it.
  if (!util::is_valid_utf8(text) || !json_accept_bounded(text, k_json_max_depth - 1)) {
    out += "{}";
    return;
  }
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  text = text.substr(first, last + 1 - first);
  const std::size_t at = out.size();
  out.append(text);
  // Valid JSON holds CR and LF only between tokens, and an SSE data line holds neither.
  std::replace_if(
      out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
      [](char c) { return c == '\r' || c == '\n'; }, ' ');
}

std::string
query_of(std::string_view target)
{
  const TargetParts parts = split_path_query(target);
  return parts.has_query ? "?" + std::string(parts.query) : std::string();
}

Error
message_error(std::string what)
{
  return error("bad relay message: " + std::move(what),
               "is the URL a rag relay, smee.io or gosmee channel?");
}

Result<std::string>
string_field(const Json& object, const char* key, bool required)
{
  const auto it = object.find(key);
  if (it == object.end()) {
    if (required) {
      return message_error(fmt::format("`rag.{}` is missing", key));
    }
    return std::string();
  }
  if (!it->is_string()) {
    return message_error(fmt::format("`rag.{}` is not a string", key));
  }
  return it->get<std::string>();
}

// Read [[name, value], ...]; `where` names the field in errors.
Result<Headers>
header_pairs(const Json& value, const std::string& where, Error (*make_error)(std::string))
{
  if (!value.is_array()) {
    return make_error(fmt::format("`{}` is not an array", where));
  }
  Headers headers;
  headers.reserve(value.size());
  for (const auto& pair : value) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return make_error(fmt::format("`{}` holds an entry that is not [name, value]", where));
    }
    headers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return headers;
}

Result<RelayedRequest>
parse_rag_object(const Json& rag)
{
  if (!rag.is_object()) {
    return message_error("`rag` is not an object");
  }
  if (const auto v = rag.find("v"); v != rag.end() && (!v->is_number_integer() || *v != 1)) {
    return message_error(fmt::format("`rag.v` is {}, this rag reads version 1", v->dump()));
  }
  RelayedRequest request;
  request.form = RelayedRequest::Form::rag;
  RAG_TRY_ASSIGN(request.id, string_field(rag, "id", false));
  RAG_TRY_ASSIGN(const std::string time, string_field(rag, "time", false));
  if (!time.empty()) {
    auto parsed = parse_time_us(time);
    if (!parsed) {
      return message_error(fmt::format("`rag.time` is not an RFC 3339 time: {}", time));
    }
    request.time_us = *parsed;
  }
  RAG_TRY_ASSIGN(request.method, string_field(rag, "method", true));
  RAG_TRY_ASSIGN(request.target, string_field(rag, "target", true));
  RAG_TRY_ASSIGN(request.http_version, string_field(rag, "http_version", false));
  if (request.http_version.empty()) {
    request.http_version = "HTTP/1.1";
  }
  const auto headers = rag.find("headers");
  if (headers == rag.end()) {
    return message_error("`rag.headers` is missing");
  }
  RAG_TRY_ASSIGN(request.headers, header_pairs(*headers, "rag.headers", &message_error));
  // Read in place: the body's base64 is the one big string of a message.
  const auto body_b64 = rag.find("body_b64");
  if (body_b64 == rag.end()) {
    return message_error("`rag.body_b64` is missing");
  }
  if (!body_b64->is_string()) {
    return message_error("`rag.body_b64` is not a string");
  }
  auto body = util::base64_decode(body_b64->get_ref<const std::string&>());
  if (!body) {
    return message_error("`rag.body_b64` is not base64");
  }
  request.body = std::move(*body);
  RAG_TRY_ASSIGN(request.remote, string_field(rag, "remote", false));
  RAG_TRY_ASSIGN(request.reply, string_field(rag, "reply", false));
  if (request.method.empty() || request.target.empty() || request.target.front() != '/') {
    return message_error("`rag.method` is empty or `rag.target` does not start with '/'");
  }
  return request;
}

// A scalar header or query value as text (smee only sends strings; be lenient with
// numbers and booleans).
std::optional<std::string>
scalar_text(const Json& value)
{
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number() || value.is_boolean()) {
    return value.dump();
  }
  return std::nullopt;
}

// Append name/value for a value that is a scalar or an array of scalars (how Node
// presents repeated headers and query parameters); false for anything else.
template<typename AddFn>
bool
add_values(const Json& value, AddFn&& add)
{
  if (auto text = scalar_text(value)) {
    add(std::move(*text));
    return true;
  }
  if (!value.is_array()) {
    return false;
  }
  for (const auto& item : value) {
    auto text = scalar_text(item);
    if (!text) {
      return false;
    }
    add(std::move(*text));
  }
  return true;
}

Result<RelayedRequest>
parse_smee_message(const Json& message)
{
  RelayedRequest request;
  request.method = "POST";
  for (const auto& [key, value] : message.items()) {
    if (is_message_field(key)) {
      continue;
    }
    // Objects and nulls cannot be headers: fields a relay added that rag does not know.
    Headers values;
    if (add_values(value, [&](std::string text) { values.emplace_back(key, std::move(text)); })) {
      request.headers.insert(request.headers.end(), values.begin(), values.end());
    }
  }

  request.target = "/";
  if (const auto query = message.find("query"); query != message.end() && !query->is_null()) {
    if (!query->is_object()) {
      return message_error("`query` is not an object");
    }
    std::vector<Param> params;
    for (const auto& [key, value] : query->items()) {
      if (!add_values(value, [&](std::string text) { params.emplace_back(key, text); })) {
        return message_error(fmt::format("query parameter `{}` is not a string", key));
      }
    }
    if (!params.empty()) {
      request.target += "?" + form_urlencode(params);
    }
  }

  if (const auto stamp = message.find("timestamp"); stamp != message.end()) {
    if (!stamp->is_number()) {
      return message_error("`timestamp` is not a number");
    }
    request.time_us = static_cast<std::int64_t>(stamp->get<double>()) * 1000;
  }

  if (const auto body_b = message.find("bodyB"); body_b != message.end() && !body_b->is_null()) {
    if (!body_b->is_string()) {
      return message_error("`bodyB` is not a string");
    }
    auto body = util::base64_decode(body_b->get_ref<const std::string&>());
    if (!body) {
      return message_error("`bodyB` is not base64");
    }
    request.body = std::move(*body);
    request.form = RelayedRequest::Form::body_b;
    return request;
  }
  request.form = RelayedRequest::Form::body;
  if (const auto body = message.find("body"); body != message.end() && !body->is_null()) {
    // What smee-client does too: the parsed body, serialised again.
    request.body = body->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return request;
}

Error
reply_error(std::string what)
{
  return error("bad relay reply: " + std::move(what),
               R"(send {"status":N,"headers":[[name,value],...],"body_b64":"..."})");
}

} // namespace

RelayMessage::RelayMessage(const RelayedRequest& request)
{
  Json headers = Json::object();
  for (const auto& [name, value] : request.headers) {
    std::string key = utf8(util::to_lower(name));
    // Like smee, the message's own fields win over headers of the same name (the rag
    // object still has them).
    if (is_message_field(key)) {
      continue;
    }
    const auto it = headers.find(key);
    if (it == headers.end()) {
      headers.emplace(std::move(key), utf8(value));
    } else {
      *it = it->get<std::string>() + ", " + utf8(value);
    }
  }
  m_smee = headers.dump(-1, ' ', false, Json::error_handler_t::replace);
  m_smee.pop_back(); // the closing brace: the message's own fields follow
  m_smee += m_smee.size() > 1 ? R"(,"body":)" : R"("body":)";
  append_smee_body(request, m_smee);
  m_smee += R"(,"query":)";
  m_smee += params_object(parse_query(query_of(request.target)))
                .dump(-1, ' ', false, Json::error_handler_t::replace);
  m_smee += R"(,"timestamp":)";
  m_smee += std::to_string(request.time_us / 1000);

  m_body_b64 = util::base64_encode(request.body);

  Json rag = Json::object();
  rag["v"] = 1;
  rag["id"] = request.id;
  rag["time"] = format_time_us(request.time_us);
  rag["method"] = utf8(request.method);
  rag["target"] = utf8(request.target);
  rag["http_version"] = utf8(request.http_version);
  Json pairs = Json::array();
  for (const auto& [name, value] : request.headers) {
    pairs.push_back(Json::array({utf8(name), utf8(value)}));
  }
  rag["headers"] = std::move(pairs);
  rag["remote"] = utf8(request.remote);
  if (!request.reply.empty()) {
    rag["reply"] = utf8(request.reply);
  }
  // body_b64 goes last, so that its base64 is the one shared with bodyB.
  m_rag = R"(,"rag":)" + rag.dump(-1, ' ', false, Json::error_handler_t::replace);
  m_rag.pop_back();
  m_rag += R"(,"body_b64":")";
}

void
RelayMessage::append_pieces(MessageFields fields, std::vector<std::string_view>& out) const
{
  out.emplace_back(m_smee);
  if (fields.body_b) {
    out.emplace_back(R"(,"bodyB":")");
    out.emplace_back(m_body_b64);
    out.emplace_back(R"(")");
  }
  if (fields.rag) {
    out.emplace_back(m_rag);
    out.emplace_back(m_body_b64);
    out.emplace_back(R"("})");
  }
  out.emplace_back("}");
}

std::string
RelayMessage::json(MessageFields fields) const
{
  std::vector<std::string_view> pieces;
  append_pieces(fields, pieces);
  std::size_t size = 0;
  for (const auto piece : pieces) {
    size += piece.size();
  }
  std::string out;
  out.reserve(size);
  for (const auto piece : pieces) {
    out.append(piece);
  }
  return out;
}

std::string
relay_message_json(const RelayedRequest& request)
{
  return RelayMessage(request).json(MessageFields{true, true});
}

Result<RelayedRequest>
parse_relay_message(std::string_view data)
{
  try {
    // smee's `body` is only needed when there is neither `rag` nor `bodyB`: the first
    // parse leaves it out, so that a big JSON body next to them (a rag relay sends a
    // tunnel both `body` and `rag`) builds no document.
    const auto skip_body = [](int depth, Json::parse_event_t event, Json& parsed) {
      return depth != 1 || event != Json::parse_event_t::key || !parsed.is_string() ||
             parsed.get_ref<const std::string&>() != "body";
    };
    Json message = parse_json_bounded<Json>(data, skip_body);
    if (message.is_discarded() || !message.is_object()) {
      return message_error(
          fmt::format("the data is not a JSON object (or it is nested more than {} levels deep)",
                      k_json_max_depth));
    }
    if (const auto rag = message.find("rag"); rag != message.end()) {
      return parse_rag_object(*rag);
    }
    if (const auto body_b = message.find("bodyB"); body_b == message.end() || body_b->is_null()) {
      message = parse_json_bounded<Json>(data);
    }
    return parse_smee_message(message);
  } catch (const std::exception& e) {
    return message_error(e.what());
  }
}

std::string
relay_reply_json(const RelayReply& reply)
{
  Json json = Json::object();
  json["status"] = reply.status;
  Json headers = Json::array();
  for (const auto& [name, value] : reply.headers) {
    headers.push_back(Json::array({utf8(name), utf8(value)}));
  }
  json["headers"] = std::move(headers);
  json["body_b64"] = util::base64_encode(reply.body);
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<RelayReply>
parse_relay_reply(std::string_view text)
{
  try {
    const Json json = parse_json_bounded<Json>(text);
    if (json.is_discarded() || !json.is_object()) {
      return reply_error("the body is not a JSON object");
    }
    RelayReply reply;
    const auto status = json.find("status");
    if (status == json.end()) {
      return reply_error("`status` is missing");
    }
    if (!status->is_number_integer() || *status < 100 || *status > 599) {
      return reply_error(
          fmt::format("`status` must be a number from 100 to 599, not {}", status->dump()));
    }
    reply.status = status->get<int>();
    if (const auto headers = json.find("headers"); headers != json.end()) {
      RAG_TRY_ASSIGN(reply.headers, header_pairs(*headers, "headers", &reply_error));
    }
    if (const auto body = json.find("body_b64"); body != json.end()) {
      if (!body->is_string()) {
        return reply_error("`body_b64` is not a string");
      }
      auto decoded = util::base64_decode(body->get<std::string>());
      if (!decoded) {
        return reply_error("`body_b64` is not base64");
      }
      reply.body = std::move(*decoded);
    }
    return reply;
  } catch (const std::exception& e) {
    return reply_error(e.what());
  }
}

} // namespace rag::core
