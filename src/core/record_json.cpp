#include "core/record_json.hpp"

#include "core/json_bounded.hpp"
#include "util/bytes.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// Writing. This runs once per captured request on the listener's hot path, so
// lines are built by hand into one pre-sized string instead of through a DOM.

constexpr std::array<bool, 256>
make_needs_escape()
{
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) {
    table[static_cast<std::size_t>(c)] = true;
  }
  table['"'] = true;
  table['\\'] = true;
  table[0x7f] = true;
  // Lead bytes of the code points that are escaped too (see invisible_control).
  table[0xc2] = true;
  table[0xd8] = true;
  table[0xe2] = true;
  return table;
}

constexpr auto k_needs_escape = make_needs_escape();

// Return the code point at `p` (valid UTF-8 up to `end`) when it is one that a
// terminal acts on or hides rather than shows: C1 controls (U+0080-U+009F, some
// terminals read U+009B as CSI) and the bidirectional controls (U+061C, U+200E,
// U+200F, U+202A-U+202E, U+2066-U+2069) that reorder what is shown (CVE-2021-42574);
// else 0. `length` gets the code point's length in bytes.
char32_t
invisible_control(const char* p, const char* end, std::size_t& length)
{
  const auto byte = [&](std::size_t i) {
    return p + i < end ? static_cast<unsigned char>(p[i]) : 0;
  };
  const unsigned char lead = byte(0);
  if (lead == 0xc2 && byte(1) >= 0x80 && byte(1) <= 0x9f) {
    length = 2;
    return byte(1);
  }
  if (lead == 0xd8 && byte(1) == 0x9c) {
    length = 2;
    return 0x061c;
  }
  if (lead == 0xe2 && (byte(1) == 0x80 || byte(1) == 0x81)) {
    const char32_t cp = 0x2000 | (static_cast<char32_t>(byte(1) & 0x3f) << 6) | (byte(2) & 0x3f);
    if (cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      length = 3;
      return cp;
    }
  }
  return 0;
}

// Append `text` (valid UTF-8) as the inside of a JSON string.
void
append_escaped(std::string& out, std::string_view text)
{
  constexpr char k_hex[] = "0123456789abcdef";
  const char* run = text.data();
  const char* const end = text.data() + text.size();
  for (const char* p = run; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!k_needs_escape[c]) {
      continue;
    }
    if (c >= 0x80) {
      // Kept as \uXXXX: still the same JSON string, but a terminal showing the line
      // (`--json`, `cat` of the log) cannot be steered by it.
      std::size_t length = 0;
      const char32_t cp = invisible_control(p, end, length);
      if (cp == 0) {
        continue;
      }
      out.append(run, static_cast<std::size_t>(p - run));
      const char u[] = {'\\',
                        'u',
                        k_hex[(cp >> 12) & 0x0F],
                        k_hex[(cp >> 8) & 0x0F],
                        k_hex[(cp >> 4) & 0x0F],
                        k_hex[cp & 0x0F]};
      out.append(u, sizeof(u));
      p += length - 1;
      run = p + 1;
      continue;
    }
    out.append(run, static_cast<std::size_t>(p - run));
    run = p + 1;
    switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    default: {
      const char u[] = {'\\', 'u', '0', '0', k_hex[c >> 4], k_hex[c & 0x0F]};
      out.append(u, sizeof(u));
      break;
    }
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
}

// Append a quoted JSON string for a field that has no base64 form (ids, source,
// method, URLs, error text): invalid UTF-8 is replaced so the line stays valid JSON.
void
append_string(std::string& out, std::string_view text)
{
  out.push_back('"');
  if (util::is_valid_utf8(text)) {
    append_escaped(out, text);
  } else {
    append_escaped(out, util::utf8_replace_invalid(text));
  }
  out.push_back('"');
}

// Append `"key":` (key is a literal that needs no escaping).
void
append_key(std::string& out, std::string_view key)
{
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

template<typename Int>
void
append_int(std::string& out, Int value)
{
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

// Append microseconds as milliseconds with exactly three decimals ("1.234"), which
// parses back to the same microseconds.
void
append_ms(std::string& out, std::int64_t us)
{
  std::uint64_t magnitude = 0;
  if (us < 0) {
    out.push_back('-');
    magnitude = static_cast<std::uint64_t>(-(us + 1)) + 1;
  } else {
    magnitude = static_cast<std::uint64_t>(us);
  }
  append_int(out, magnitude / 1000);
  const auto frac = static_cast<unsigned>(magnitude % 1000);
  const char digits[] = {'.', static_cast<char>('0' + frac / 100),
                         static_cast<char>('0' + frac / 10 % 10),
                         static_cast<char>('0' + frac % 10)};
  out.append(digits, sizeof(digits));
}

// Append `"body":…` with `"body_encoding":"base64"` right after it when the bytes
// are not valid UTF-8.
void
append_body(std::string& out, std::string_view body)
{
  append_key(out, "body");
  if (util::is_valid_utf8(body)) {
    out.push_back('"');
    append_escaped(out, body);
    out.push_back('"');
  } else {
    out.push_back('"');
    out.append(util::base64_encode(body));
    out.append("\",\"body_encoding\":\"base64\"");
  }
}

// Append `[["name","value"],…]`; a pair with invalid UTF-8 in either part becomes
// `["<b64 name>","<b64 value>","base64"]`.
void
append_headers(std::string& out, const Headers& headers)
{
  out.push_back('[');
  bool first = true;
  for (const auto& [name, value] : headers) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append("[\"");
    if (util::is_valid_utf8(name) && util::is_valid_utf8(value)) {
      append_escaped(out, name);
      out.append("\",\"");
      append_escaped(out, value);
      out.append("\"]");
    } else {
      out.append(util::base64_encode(name));
      out.append("\",\"");
      out.append(util::base64_encode(value));
      out.append("\",\"base64\"]");
    }
  }
  out.push_back(']');
}

std::size_t
headers_size_estimate(const Headers& headers)
{
  std::size_t size = 2;
  for (const auto& [name, value] : headers) {
    size += name.size() + value.size() + 8;
  }
  return size;
}

// ---------------------------------------------------------------------------
// Parsing. Every access checks presence and type, so a hand-edited or damaged
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

// ---------------------------------------------------------------------------
// Time.

std::int64_t
floor_div(std::int64_t a, std::int64_t b)
{
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t
days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate
{
  std::int64_t year;
  unsigned month;
  unsigned day;
};

CivilDate
civil_from_days(std::int64_t z)
{
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool
is_leap(std::int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned
days_in_month(std::int64_t y, unsigned m)
{
  static constexpr unsigned k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// Read exactly `n` decimal digits at `pos`, advancing it; false when not digits.
bool
read_digits(std::string_view text, std::size_t& pos, std::size_t n, unsigned& out)
{
  if (pos + n > text.size()) {
    return false;
  }
  unsigned value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  out = value;
  return true;
}

bool
expect_char(std::string_view text, std::size_t& pos, char c)
{
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

void
append_padded(std::string& out, std::uint64_t value, int width)
{
  char buf[24];
  int len = 0;
  do {
    buf[len++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = len; i < width; ++i) {
    out.push_back('0');
  }
  while (len > 0) {
    out.push_back(buf[--len]);
  }
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

std::string
json_escape(std::string_view text)
{
  std::string out;
  append_string(out, text);
  return out.substr(1, out.size() - 2);
}

std::string
to_json_line(const Event& event)
{
  std::string out;
  out.reserve(320 + event.source.size() + event.remote.size() + event.target.size() * 2 +
              headers_size_estimate(event.headers) + event.body.size() / 3 * 4 + 8);
  out.append("{\"v\":");
  append_int(out, k_record_version);
  out.append(",\"kind\":\"event\",");
  append_key(out, "id");
  append_string(out, event.id);
  out.push_back(',');
  append_key(out, "time");
  out.push_back('"');
  out.append(format_time_us(event.time_us));
  out.append("\",");
  append_key(out, "source");
  append_string(out, event.source);
  out.push_back(',');
  append_key(out, "remote");
  append_string(out, event.remote);
  out.push_back(',');
  append_key(out, "method");
  append_string(out, event.method);
  out.push_back(',');
  append_key(out, "target");
  if (util::is_valid_utf8(event.target)) {
    out.push_back('"');
    append_escaped(out, event.target);
    out.push_back('"');
  } else {
    out.push_back('"');
    out.append(util::base64_encode(event.target));
    out.append("\",\"target_encoding\":\"base64\"");
  }
  out.push_back(',');
  append_key(out, "http_version");
  append_string(out, event.http_version);
  out.push_back(',');
  append_key(out, "headers");
  append_headers(out, event.headers);
  out.push_back(',');
  append_body(out, event.body);
  out.push_back(',');
  append_key(out, "body_size");
  append_int(out, event.body.size());
  out.push_back(',');
  append_key(out, "body_sha256");
  out.push_back('"');
  out.append(util::sha256_hex(event.body));
  out.push_back('"');
  if (event.chunked) {
    out.append(",\"chunked\":true");
  }
  if (!event.verdict.empty()) {
    out.push_back(',');
    append_key(out, "verdict");
    append_string(out, event.verdict);
  }
  if (!event.relay_id.empty()) {
    out.push_back(',');
    append_key(out, "relay_id");
    append_string(out, event.relay_id);
  }
  out.push_back('}');
  return out;
}

std::string
to_json_line(const Delivery& delivery)
{
  std::string out;
  out.reserve(320 + delivery.target.size() + delivery.error.size() +
              headers_size_estimate(delivery.response_headers) +
              delivery.response_body.size() / 3 * 4 + 8);
  out.append("{\"v\":");
  append_int(out, k_record_version);
  out.append(",\"kind\":\"delivery\",");
  append_key(out, "id");
  append_string(out, delivery.id);
  out.push_back(',');
  append_key(out, "event_id");
  append_string(out, delivery.event_id);
  out.push_back(',');
  append_key(out, "time");
  out.push_back('"');
  out.append(format_time_us(delivery.time_us));
  out.append("\",");
  append_key(out, "target");
  append_string(out, delivery.target);
  out.push_back(',');
  append_key(out, "attempt");
  append_int(out, delivery.attempt);
  out.push_back(',');
  append_key(out, "replay");
  out.append(delivery.replay ? "true" : "false");
  out.push_back(',');
  append_key(out, "status");
  append_int(out, delivery.status);
  out.push_back(',');
  append_key(out, "duration_ms");
  append_ms(out, delivery.duration_us);
  if (!delivery.error.empty()) {
    out.push_back(',');
    append_key(out, "error");
    append_string(out, delivery.error);
  } else {
    out.append(",\"response\":{");
    append_key(out, "headers");
    append_headers(out, delivery.response_headers);
    out.push_back(',');
    append_body(out, delivery.response_body);
    out.push_back(',');
    append_key(out, "body_size");
    append_int(out, delivery.response_body.size());
    out.push_back(',');
    append_key(out, "truncated");
    out.append(delivery.response_truncated ? "true" : "false");
    out.push_back('}');
  }
  out.push_back('}');
  return out;
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

std::string
format_time_us(std::int64_t time_us)
{
  const std::int64_t secs = floor_div(time_us, 1'000'000);
  const auto micros = static_cast<std::uint64_t>(time_us - secs * 1'000'000);
  const std::int64_t days = floor_div(secs, 86'400);
  const auto second_of_day = static_cast<std::uint64_t>(secs - days * 86'400);
  const CivilDate date = civil_from_days(days);

  std::string out;
  out.reserve(28);
  if (date.year < 0) {
    out.push_back('-');
  }
  append_padded(out, static_cast<std::uint64_t>(date.year < 0 ? -date.year : date.year), 4);
  out.push_back('-');
  append_padded(out, date.month, 2);
  out.push_back('-');
  append_padded(out, date.day, 2);
  out.push_back('T');
  append_padded(out, second_of_day / 3600, 2);
  out.push_back(':');
  append_padded(out, second_of_day / 60 % 60, 2);
  out.push_back(':');
  append_padded(out, second_of_day % 60, 2);
  out.push_back('.');
  append_padded(out, micros, 6);
  out.push_back('Z');
  return out;
}

Result<std::int64_t>
parse_time_us(std::string_view text)
{
  const auto bad = [&] {
    return error(fmt::format("invalid time '{}'", util::utf8_replace_invalid(text)),
                 "use RFC 3339, e.g. 2026-11-26T06:45:27Z");
  };
  std::size_t pos = 0;
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!read_digits(text, pos, 4, year) || !expect_char(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !expect_char(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return bad();
  }
  // RFC 3339 allows 't' and (in its note) a space for 'T'.
  if (!expect_char(text, pos, 'T') && !expect_char(text, pos, 't') &&
      !expect_char(text, pos, ' ')) {
    return bad();
  }
  if (!read_digits(text, pos, 2, hour) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !expect_char(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  std::int64_t micros = 0;
  if (expect_char(text, pos, '.')) {
    std::size_t digits = 0;
    std::int64_t scale = 100'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) {
        return bad();
      }
      // Digits past the sixth are below our resolution: truncate, don't round, so
      // a time never moves into the next microsecond.
      micros += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (digits == 0) {
      return bad();
    }
  }
  std::int64_t offset_s = 0;
  if (expect_char(text, pos, 'Z') || expect_char(text, pos, 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    unsigned off_h = 0;
    unsigned off_m = 0;
    if (!read_digits(text, pos, 2, off_h) || !expect_char(text, pos, ':') ||
        !read_digits(text, pos, 2, off_m) || off_h > 23 || off_m > 59) {
      return bad();
    }
    offset_s = sign * static_cast<std::int64_t>(off_h * 3600 + off_m * 60);
  } else {
    return bad();
  }
  if (pos != text.size()) {
    return bad();
  }
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t secs =
      days * 86'400 + static_cast<std::int64_t>(hour * 3600 + minute * 60 + second) - offset_s;
  return secs * 1'000'000 + micros;
}

} // namespace rag::core
