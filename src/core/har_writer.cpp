#include "core/har.hpp"

#include "core/curl_command.hpp"
#include "core/http_syntax.hpp"
#include "core/log/record_time.hpp"
#include "core/log/record_writer.hpp"
#include "util/bytes.hpp"
#include "util/http_status.hpp"
#include "util/text.hpp"

#include <algorithm>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::json;
// Writing keeps members in the order of the HAR 1.2 spec, as readers show them.
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view k_base64 = "base64";
// Depth of an entry inside {"log": {"entries": [ ... ]}} at 2 spaces per level.
constexpr std::string_view k_entry_indent = "      ";

// ---------------------------------------------------------------------------
// Writing

// A JSON string value for text that should be UTF-8 but may not be.
std::string
text(std::string_view bytes)
{
  return util::is_valid_utf8(bytes) ? std::string(bytes) : util::utf8_replace_invalid(bytes);
}

// HAR times are milliseconds with microsecond precision.
double
to_ms(std::int64_t us)
{
  return static_cast<double>(us) / 1000.0;
}

// ISO 8601 with milliseconds and "Z", the form DevTools writes.
std::string
format_time_ms(std::int64_t time_us)
{
  std::string t = format_time_us(time_us); // "...:27.123456Z"
  const std::size_t dot = t.rfind('.');
  if (dot != std::string::npos && dot + 4 < t.size()) {
    t.erase(dot + 4, t.size() - dot - 5);
  }
  return t;
}

OrderedJson
headers_json(const Headers& headers)
{
  OrderedJson out = OrderedJson::array();
  for (const auto& [name, value] : headers) {
    OrderedJson h = OrderedJson::object();
    h["name"] = text(name);
    h["value"] = text(value);
    if (!util::is_valid_utf8(name) || !util::is_valid_utf8(value)) {
      h["_rag_name_base64"] = util::base64_encode(name);
      h["_rag_value_base64"] = util::base64_encode(value);
    }
    out.push_back(std::move(h));
  }
  return out;
}

OrderedJson
params_json(const std::vector<Param>& params)
{
  OrderedJson out = OrderedJson::array();
  for (const auto& [name, value] : params) {
    OrderedJson p = OrderedJson::object();
    p["name"] = text(name);
    p["value"] = text(value);
    out.push_back(std::move(p));
  }
  return out;
}

OrderedJson
request_cookies(const Headers& headers)
{
  OrderedJson out = OrderedJson::array();
  for (const auto& [name, value] : headers) {
    if (!util::iequals(name, "cookie")) {
      continue;
    }
    util::for_each_piece(value, ';', [&](std::string_view piece) {
      piece = http::trim_ows(piece);
      if (piece.empty()) {
        return;
      }
      const std::size_t eq = piece.find('=');
      OrderedJson c = OrderedJson::object();
      c["name"] = text(http::trim_ows(piece.substr(0, eq)));
      c["value"] =
          eq == std::string_view::npos ? std::string() : text(http::trim_ows(piece.substr(eq + 1)));
      out.push_back(std::move(c));
    });
  }
  return out;
}

OrderedJson
response_cookies(const Headers& headers)
{
  OrderedJson out = OrderedJson::array();
  for (const auto& [name, value] : headers) {
    if (!util::iequals(name, "set-cookie")) {
      continue;
    }
    OrderedJson c = OrderedJson::object();
    bool first = true;
    util::for_each_piece(value, ';', [&](std::string_view piece) {
      piece = http::trim_ows(piece);
      const std::size_t eq = piece.find('=');
      const std::string_view key = http::trim_ows(piece.substr(0, eq));
      const std::string_view val =
          eq == std::string_view::npos ? std::string_view() : http::trim_ows(piece.substr(eq + 1));
      if (first) {
        c["name"] = text(key);
        c["value"] = text(val);
        first = false;
      } else if (util::iequals(key, "path")) {
        c["path"] = text(val);
      } else if (util::iequals(key, "domain")) {
        c["domain"] = text(val);
      } else if (util::iequals(key, "httponly")) {
        c["httpOnly"] = true;
      } else if (util::iequals(key, "secure")) {
        c["secure"] = true;
      }
    });
    out.push_back(std::move(c));
  }
  return out;
}

std::size_t
request_headers_size(const Event& event)
{
  // The head as rag would write it: request line, "Name: value" lines, empty line.
  std::size_t size =
      event.method.size() + 1 + event.target.size() + 1 + event.http_version.size() + 2;
  for (const auto& [name, value] : event.headers) {
    size += name.size() + 2 + value.size() + 2;
  }
  return size + 2;
}

OrderedJson
request_json(const Event& event)
{
  OrderedJson r = OrderedJson::object();
  r["method"] = text(event.method);
  r["url"] = text(event_url(event));
  r["httpVersion"] = text(event.http_version);
  r["cookies"] = request_cookies(event.headers);
  r["headers"] = headers_json(event.headers);
  r["queryString"] = params_json(parse_query(event.target));
  if (!event.body.empty()) {
    OrderedJson post = OrderedJson::object();
    const std::string* type = find_header(event.headers, "content-type");
    post["mimeType"] = type != nullptr ? text(*type) : std::string();
    if (util::is_valid_utf8(event.body)) {
      post["text"] = event.body;
    } else {
      post["text"] = util::base64_encode(event.body);
      post["encoding"] = k_base64;
      post["_encoding"] = k_base64;
    }
    r["postData"] = std::move(post);
  }
  r["headersSize"] = request_headers_size(event);
  r["bodySize"] = event.body.size();
  if (!event.trailers.empty()) {
    // HAR has no field for trailers; they are the request's, so they go beside its headers.
    r["_rag_trailers"] = headers_json(event.trailers);
  }
  if (util::is_valid_utf8(event.target)) {
    r["_rag_target"] = event.target;
  } else {
    r["_rag_target"] = util::base64_encode(event.target);
    r["_rag_target_encoding"] = k_base64;
  }
  return r;
}

// The answer rag gave a request it refused: the status, and no body, which the log does
// not keep (rag's own `{"error":…}`).
OrderedJson
refusal_json(const Rejection& rejected)
{
  OrderedJson r = OrderedJson::object();
  r["status"] = rejected.status;
  r["statusText"] = std::string(util::reason_phrase(rejected.status));
  r["httpVersion"] = "HTTP/1.1";
  r["cookies"] = OrderedJson::array();
  r["headers"] = OrderedJson::array();
  OrderedJson content = OrderedJson::object();
  content["size"] = 0;
  content["mimeType"] = "x-unknown";
  r["content"] = std::move(content);
  r["redirectURL"] = std::string();
  r["headersSize"] = -1;
  r["bodySize"] = -1;
  return r;
}

OrderedJson
response_json(const Delivery* delivery)
{
  OrderedJson r = OrderedJson::object();
  const bool answered = delivery != nullptr && delivery->error.empty() && delivery->status > 0;
  r["status"] = answered ? delivery->status : 0;
  r["statusText"] = answered ? std::string(util::reason_phrase(delivery->status)) : std::string();
  r["httpVersion"] = answered ? "HTTP/1.1" : "";
  if (answered) {
    r["cookies"] = response_cookies(delivery->response_headers);
    r["headers"] = headers_json(delivery->response_headers);
  } else {
    r["cookies"] = OrderedJson::array();
    r["headers"] = OrderedJson::array();
  }
  OrderedJson content = OrderedJson::object();
  if (answered) {
    const std::string& body = delivery->response_body;
    const std::string* type = find_header(delivery->response_headers, "content-type");
    content["size"] = body.size();
    content["mimeType"] = type != nullptr ? text(*type) : std::string("x-unknown");
    if (util::is_valid_utf8(body)) {
      content["text"] = body;
    } else {
      content["text"] = util::base64_encode(body);
      content["encoding"] = k_base64;
    }
  } else {
    content["size"] = 0;
    content["mimeType"] = "x-unknown";
  }
  r["content"] = std::move(content);
  const std::string* location =
      answered ? find_header(delivery->response_headers, "location") : nullptr;
  r["redirectURL"] = location != nullptr ? text(*location) : std::string();
  r["headersSize"] = -1;
  r["bodySize"] = answered ? static_cast<long long>(delivery->response_body.size()) : -1LL;
  if (!answered) {
    // DevTools writes failed requests as status 0 with the reason in `_error`.
    r["_error"] = delivery == nullptr       ? std::string("no delivery")
                  : delivery->error.empty() ? std::string("no response")
                                            : text(delivery->error);
  }
  if (delivery != nullptr) {
    r["_rag_delivery_id"] = text(delivery->id);
    r["_rag_target"] = text(delivery->target);
    r["_rag_attempt"] = delivery->attempt;
    r["_rag_replay"] = delivery->replay;
    if (delivery->response_truncated) {
      r["_rag_truncated"] = true;
    }
  }
  return r;
}

} // namespace

const Delivery*
har_response(const std::vector<Delivery>& deliveries)
{
  const bool any_original = std::any_of(deliveries.begin(), deliveries.end(),
                                        [](const Delivery& d) { return !d.replay; });
  const auto counts = [&](const Delivery& d) { return !any_original || !d.replay; };
  const Delivery* first = nullptr;
  for (const auto& d : deliveries) {
    if (counts(d) && (first == nullptr || d.time_us < first->time_us)) {
      first = &d;
    }
  }
  if (first == nullptr) {
    return nullptr;
  }
  const Delivery* latest = nullptr;
  for (const auto& d : deliveries) {
    if (!counts(d) || d.target != first->target) {
      continue;
    }
    if (latest == nullptr || d.attempt > latest->attempt ||
        (d.attempt == latest->attempt && d.time_us >= latest->time_us)) {
      latest = &d;
    }
  }
  return latest;
}

HarWriter::HarWriter(std::string creator_version) : m_creator_version(std::move(creator_version)) {}

std::string
HarWriter::begin() const
{
  return fmt::format("{{\n"
                     "  \"log\": {{\n"
                     "    \"version\": \"1.2\",\n"
                     "    \"creator\": {{\n"
                     "      \"name\": \"rag\",\n"
                     "      \"version\": \"{}\"\n"
                     "    }},\n"
                     "    \"pages\": [],\n"
                     "    \"entries\": [",
                     json_escape(m_creator_version));
}

std::string
HarWriter::entry(const Event& event, const Delivery* response)
{
  OrderedJson e = OrderedJson::object();
  e["startedDateTime"] = format_time_ms(event.time_us);
  const double wait_ms = response != nullptr ? to_ms(response->duration_us) : 0.0;
  e["time"] = wait_ms;
  e["request"] = request_json(event);
  // A refused request's response is rag's answer to its sender, whatever replays did.
  e["response"] = event.rejected ? refusal_json(*event.rejected) : response_json(response);
  e["cache"] = OrderedJson::object();
  // Only the wait is known: rag measures a delivery from send to the full answer.
  OrderedJson timings = OrderedJson::object();
  timings["blocked"] = -1;
  timings["dns"] = -1;
  timings["ssl"] = -1;
  timings["connect"] = -1;
  timings["send"] = 0;
  timings["wait"] = wait_ms;
  timings["receive"] = 0;
  e["timings"] = std::move(timings);
  // Webhooks are API calls: DevTools lists them under Fetch/XHR.
  e["_resourceType"] = "fetch";
  e["_rag_event_id"] = text(event.id);
  e["_rag_source"] = text(event.source);
  e["_rag_remote"] = text(event.remote);
  e["_rag_chunked"] = event.chunked;
  if (!event.verdict.empty()) {
    e["_rag_verdict"] = text(event.verdict);
  }
  if (event.rejected) {
    OrderedJson rejected = OrderedJson::object();
    rejected["status"] = event.rejected->status;
    rejected["reason"] = text(event.rejected->reason);
    if (event.rejected->body_dropped) {
      rejected["body_dropped"] = *event.rejected->body_dropped;
    }
    e["_rag_rejected"] = std::move(rejected);
  }

  const std::string dumped = e.dump(2, ' ', false, OrderedJson::error_handler_t::replace);
  std::string out = m_first ? "\n" : ",\n";
  m_first = false;
  out.reserve(out.size() + dumped.size() + dumped.size() / 8);
  out.append(k_entry_indent);
  // JSON strings never hold a raw newline, so every '\n' starts a new line.
  for (const char c : dumped) {
    out.push_back(c);
    if (c == '\n') {
      out.append(k_entry_indent);
    }
  }
  return out;
}

std::string
HarWriter::end() const
{
  return std::string(m_first ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n");
}

} // namespace rag::core
