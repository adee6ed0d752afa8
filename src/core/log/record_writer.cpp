#include "core/log/record_writer.hpp"

#include "core/log/record_time.hpp"
#include "util/bytes.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace rag::core {

namespace {

// Writing runs once per captured request on the listener's hot path, so lines are
// built by hand into one pre-sized string instead of through a DOM.

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

// Append `"key":"text"`.
void
append_string_field(std::string& out, std::string_view key, std::string_view text)
{
  append_key(out, key);
  append_string(out, text);
}

// Append `"key":value` for an integer.
template<typename Int>
void
append_int_field(std::string& out, std::string_view key, Int value)
{
  append_key(out, key);
  append_int(out, value);
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

} // namespace

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
              headers_size_estimate(event.headers) + event.body.size() / 3 * 4 + 8 +
              (event.trailers.empty() ? 0 : headers_size_estimate(event.trailers) + 12));
  out.append("{\"v\":");
  append_int(out, k_record_version);
  out.append(",\"kind\":\"event\",");
  append_string_field(out, "id", event.id);
  out.push_back(',');
  append_key(out, "time");
  out.push_back('"');
  out.append(format_time_us(event.time_us));
  out.append("\",");
  append_string_field(out, "source", event.source);
  out.push_back(',');
  append_string_field(out, "remote", event.remote);
  out.push_back(',');
  append_string_field(out, "method", event.method);
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
  append_string_field(out, "http_version", event.http_version);
  out.push_back(',');
  append_key(out, "headers");
  append_headers(out, event.headers);
  out.push_back(',');
  append_body(out, event.body);
  out.push_back(',');
  append_int_field(out, "body_size", event.body.size());
  out.push_back(',');
  append_key(out, "body_sha256");
  out.push_back('"');
  out.append(util::sha256_hex(event.body));
  out.push_back('"');
  if (event.chunked) {
    out.append(",\"chunked\":true");
  }
  if (!event.trailers.empty()) {
    out.push_back(',');
    append_key(out, "trailers");
    append_headers(out, event.trailers);
  }
  if (!event.verdict.empty()) {
    out.push_back(',');
    append_string_field(out, "verdict", event.verdict);
  }
  if (!event.relay_id.empty()) {
    out.push_back(',');
    append_string_field(out, "relay_id", event.relay_id);
  }
  if (event.rejected) {
    const Rejection& rejected = *event.rejected;
    out.append(",\"rejected\":{");
    append_int_field(out, "status", rejected.status);
    out.push_back(',');
    append_string_field(out, "reason", rejected.reason);
    if (rejected.body_dropped) {
      out.push_back(',');
      append_int_field(out, "body_dropped", *rejected.body_dropped);
    }
    out.push_back('}');
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
  append_string_field(out, "id", delivery.id);
  out.push_back(',');
  append_string_field(out, "event_id", delivery.event_id);
  out.push_back(',');
  append_key(out, "time");
  out.push_back('"');
  out.append(format_time_us(delivery.time_us));
  out.append("\",");
  append_string_field(out, "target", delivery.target);
  out.push_back(',');
  append_int_field(out, "attempt", delivery.attempt);
  out.push_back(',');
  append_key(out, "replay");
  out.append(delivery.replay ? "true" : "false");
  out.push_back(',');
  append_int_field(out, "status", delivery.status);
  out.push_back(',');
  append_key(out, "duration_ms");
  append_ms(out, delivery.duration_us);
  if (!delivery.error.empty()) {
    out.push_back(',');
    append_string_field(out, "error", delivery.error);
  } else {
    out.append(",\"response\":{");
    append_key(out, "headers");
    append_headers(out, delivery.response_headers);
    out.push_back(',');
    append_body(out, delivery.response_body);
    out.push_back(',');
    append_int_field(out, "body_size", delivery.response_body.size());
    out.push_back(',');
    append_key(out, "truncated");
    out.append(delivery.response_truncated ? "true" : "false");
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

} // namespace rag::core
