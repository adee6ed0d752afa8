#include "core/http_request.hpp"

#include "core/http_syntax.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace rag::core {

namespace {

using namespace http;

constexpr std::size_t k_npos = std::string_view::npos;

// Control bytes (other than HTAB where allowed) never belong in a target or a value;
// obs-text (0x80-0xFF) does and is kept as is.
bool
is_ctl(unsigned char c)
{
  return c < 0x20 || c == 0x7f;
}

// Return true when a Host value may be uri-host [":" port] (RFC 9110 §7.2). The rule is
// kept simple: whitespace and the URI delimiters that can never be inside an authority's
// host or port (`/`, `?`, `#`, `@`) make it invalid; anything else, the empty value
// included (RFC 9112 §3.2), is accepted as sent.
bool
is_host_value(std::string_view value)
{
  return value.find_first_of(" \t/?#@") == k_npos;
}

// The line before the LF at `lf`, without its CR (a bare LF ends a line too).
std::string_view
line_before(std::string_view data, std::size_t pos, std::size_t lf)
{
  std::string_view line = data.substr(pos, lf - pos);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

} // namespace

HttpRequestParser::HttpRequestParser(HttpLimits limits) : m_limits(limits) {}

HttpRequestParser::State
HttpRequestParser::feed(std::string_view bytes)
{
  if (m_state == State::error) {
    return m_state;
  }
  if (m_state == State::complete) {
    // The next pipelined request: parsed after reset_for_next().
    m_buffer.append(bytes);
    return m_state;
  }
  if (buffer_empty()) {
    // Nothing pending: parse straight from the caller's bytes so that a body is
    // copied once (into the request) and only an unfinished tail gets buffered.
    m_buffer.clear();
    m_pos = 0;
    std::size_t pos = 0;
    const State state = run(bytes, pos);
    if (state != State::error && pos < bytes.size()) {
      m_buffer.append(bytes.data() + pos, bytes.size() - pos);
    }
    return state;
  }
  if (m_pos > 0) {
    // Only the unparsed tail (a partial line or pipelined bytes) is moved.
    m_buffer.erase(0, m_pos);
    m_pos = 0;
  }
  m_buffer.append(bytes);
  return advance();
}

HttpRequestParser::State
HttpRequestParser::advance()
{
  if (m_state == State::error || m_state == State::complete) {
    return m_state;
  }
  const State state = run(m_buffer, m_pos);
  if (state != State::error && buffer_empty()) {
    m_buffer.clear();
    m_pos = 0;
  }
  return state;
}

HttpRequest
HttpRequestParser::take_request()
{
  return std::move(m_request);
}

void
HttpRequestParser::reset_for_next()
{
  m_request = HttpRequest{};
  m_state = State::need_more;
  m_scan_from = 0;
  m_content_length = -1;
  m_head_done = false;
  m_seen_request_line = false;
  m_head_bytes = 0;
  m_body_left = 0;
  m_status = 0;
  m_reason.clear();
  m_dropped_body_bytes = 0;
  m_chunk_state = ChunkState::size;
  m_chunk_left = 0;
  m_trailer_bytes = 0;
  if (buffer_empty()) {
    m_buffer.clear();
    m_pos = 0;
  }
}

HttpRequestParser::State
HttpRequestParser::fail(int status, std::string reason)
{
  m_state = State::error;
  m_status = status;
  m_reason = std::move(reason);
  m_dropped_body_bytes = m_request.body.size();
  // Nothing more will be parsed: give the memory back right away.
  std::string().swap(m_buffer);
  std::string().swap(m_request.body);
  m_pos = 0;
  m_scan_from = 0;
  return m_state;
}

HttpRequestParser::State
HttpRequestParser::run(std::string_view data, std::size_t& pos)
{
  const State state = m_head_done ? parse_body(data, pos) : parse_head(data, pos);
  if (state != State::error) {
    m_state = state;
  }
  return state;
}

std::size_t
HttpRequestParser::find_line_end(std::string_view data, std::size_t pos)
{
  const std::size_t from = pos + m_scan_from;
  const void* lf =
      from < data.size() ? std::memchr(data.data() + from, '\n', data.size() - from) : nullptr;
  if (lf == nullptr) {
    m_scan_from = data.size() - pos;
    return k_npos;
  }
  m_scan_from = 0;
  return static_cast<std::size_t>(static_cast<const char*>(lf) - data.data());
}

HttpRequestParser::State
HttpRequestParser::parse_head(std::string_view data, std::size_t& pos)
{
  while (true) {
    const std::size_t lf = find_line_end(data, pos);
    if (lf == k_npos) {
      // Checked as bytes arrive, so an endless line is never buffered past the limit.
      if (m_head_bytes + (data.size() - pos) > m_limits.max_header_bytes) {
        return fail(431, "request header fields too large");
      }
      // A CR followed by anything but LF can never end a line (RFC 9112 §2.2): say so
      // now rather than wait for a line end that may never come.
      const std::string_view pending = data.substr(pos);
      for (std::size_t cr = pending.find('\r'); cr != k_npos && cr + 1 < pending.size();
           cr = pending.find('\r', cr + 1)) {
        if (pending[cr + 1] != '\n') {
          return fail(400, "bare CR in the request head");
        }
      }
      return State::need_more;
    }
    m_head_bytes += lf + 1 - pos;
    if (m_head_bytes > m_limits.max_header_bytes) {
      return fail(431, "request header fields too large");
    }
    const std::string_view line = line_before(data, pos, lf);
    pos = lf + 1;

    if (!m_seen_request_line) {
      // RFC 7230 §3.5: ignore empty lines before the request line (counted above).
      if (line.empty()) {
        continue;
      }
      if (parse_request_line(line) == State::error) {
        return State::error;
      }
      m_seen_request_line = true;
      continue;
    }
    if (line.empty()) {
      return finish_head();
    }
    if (parse_field_line(line, m_request.headers, "header") == State::error) {
      return State::error;
    }
  }
}

HttpRequestParser::State
HttpRequestParser::parse_request_line(std::string_view line)
{
  const std::size_t sp1 = line.find(' ');
  if (sp1 == k_npos || sp1 == 0) {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  if (!is_token(method)) {
    return fail(400, "invalid method");
  }
  const std::string_view rest = line.substr(sp1 + 1);
  const std::size_t sp2 = rest.find(' ');
  if (sp2 == k_npos || sp2 == 0) {
    return fail(400, "malformed request line");
  }
  const std::string_view target = rest.substr(0, sp2);
  for (char c : target) {
    if (is_ctl(static_cast<unsigned char>(c))) {
      return fail(400, "invalid request target");
    }
  }
  const std::string_view version = rest.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    // A well-formed version we do not speak is 505; anything else is garbage.
    const bool http_like = version.size() > 5 && version.substr(0, 5) == "HTTP/" &&
                           std::all_of(version.begin() + 5, version.end(),
                                       [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    return http_like ? fail(505, "http version not supported")
                     : fail(400, "malformed request line");
  }
  m_request.method.assign(method);
  m_request.target.assign(target);
  m_request.http_version.assign(version);
  // Typical webhook heads carry 8-20 fields: one allocation instead of five.
  m_request.headers.reserve(16);
  return State::need_more;
}

HttpRequestParser::State
HttpRequestParser::parse_field_line(std::string_view line, Headers& fields, std::string_view what)
{
  if (is_ows(line.front())) {
    return fail(400, fmt::format("obsolete {} line folding", what));
  }
  const std::size_t colon = line.find(':');
  if (colon == k_npos) {
    return fail(400, fmt::format("malformed {} line", what));
  }
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) {
    return fail(400, fmt::format("invalid {} name", what));
  }
  const std::string_view value = trim_ows(line.substr(colon + 1));
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_ctl(byte) && c != '\t') {
      return fail(400, fmt::format("invalid {} value", what));
    }
  }
  fields.emplace_back(std::string(name), std::string(value));
  return State::need_more;
}

HttpRequestParser::State
HttpRequestParser::finish_head()
{
  const Framing framing = read_framing(m_request.headers);
  const std::string* host = nullptr;
  int host_count = 0;
  for (const auto& [name, value] : m_request.headers) {
    if (iequals(name, "expect")) {
      m_request.expect_continue = iequals(trim_ows(value), "100-continue");
    } else if (iequals(name, "host")) {
      host = &value;
      ++host_count;
    }
  }

  const bool http11 = m_request.http_version == "HTTP/1.1";
  // RFC 9112 §3.2: HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one.
  if (host_count > 1) {
    return fail(400, "more than one host header");
  }
  if (host_count == 0 && http11) {
    return fail(400, "missing host header");
  }
  if (host != nullptr && !is_host_value(*host)) {
    return fail(400, "invalid host header");
  }
  m_request.keep_alive = keeps_alive(framing, http11);
  // RFC 7231 §5.1.1: never send 100 Continue to an HTTP/1.0 client.
  m_request.expect_continue = m_request.expect_continue && http11;

  if (framing.has_te) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (!http11) {
      return fail(400, "transfer-encoding in an http/1.0 request");
    }
    if (framing.has_length || framing.length_bad || framing.length_overflow) {
      return fail(400, "both transfer-encoding and content-length");
    }
    if (framing.chunked_count == 0) {
      return fail(501, "unsupported transfer-encoding");
    }
    if (framing.chunked_count > 1 || !framing.chunked_last) {
      return fail(400, "chunked must be the final transfer-encoding");
    }
    // Only chunked is decoded: content under another coding as well (gzip, or identity,
    // which RFC 9112 dropped) is a coding rag does not understand, which RFC 9112 §6.1
    // answers 501, as nginx does.
    if (framing.coding_count > framing.chunked_count) {
      return fail(501, "unsupported transfer-encoding");
    }
    m_request.chunked = true;
  } else if (framing.length_bad) {
    return fail(400, "invalid content-length");
  } else if (framing.length_conflict) {
    return fail(400, "conflicting content-length values");
  } else if (framing.length_overflow) {
    return fail(413, "request body too large");
  } else if (framing.has_length) {
    const unsigned long long length = framing.length;
    if (length > static_cast<unsigned long long>(std::numeric_limits<long long>::max())) {
      return fail(413, "request body too large");
    }
    m_content_length = static_cast<long long>(length);
    if (length > m_limits.max_body_bytes) {
      return fail(413, "request body too large");
    }
    m_body_left = static_cast<std::size_t>(length);
  }

  // No framing means no body, for every method (RFC 7230 §3.3.3 rule 6): never wait for EOF.
  if (!m_request.chunked && m_body_left == 0) {
    return State::complete;
  }
  m_head_done = true;
  if (!m_request.chunked) {
    // The whole declared body is stored exactly once, so allocate it once.
    m_request.body.reserve(m_body_left);
  }
  return State::head_complete;
}

HttpRequestParser::State
HttpRequestParser::parse_body(std::string_view data, std::size_t& pos)
{
  if (m_request.chunked) {
    return parse_chunked(data, pos);
  }
  const std::size_t n = std::min(m_body_left, data.size() - pos);
  m_request.body.append(data.data() + pos, n);
  pos += n;
  m_body_left -= n;
  return m_body_left == 0 ? State::complete : State::need_more;
}

HttpRequestParser::State
HttpRequestParser::parse_chunked(std::string_view data, std::size_t& pos)
{
  std::string& body = m_request.body;
  while (true) {
    switch (m_chunk_state) {
    case ChunkState::size: {
      const std::size_t lf = find_line_end(data, pos);
      if (lf == k_npos) {
        if (data.size() - pos > m_limits.max_header_bytes) {
          return fail(400, "chunk size line too long");
        }
        return State::need_more;
      }
      const std::string_view line = line_before(data, pos, lf);
      pos = lf + 1;
      std::size_t size = 0;
      switch (parse_chunk_size(line, size)) {
      case ChunkSize::overflow: return fail(400, "chunk size overflows");
      case ChunkSize::invalid: return fail(400, "invalid chunk size");
      case ChunkSize::ok: break;
      }
      if (size == 0) {
        m_chunk_state = ChunkState::trailers;
        break;
      }
      if (size > m_limits.max_body_bytes - body.size()) {
        return fail(413, "request body too large");
      }
      if (body.capacity() < body.size() + size) {
        // One big chunk is allocated exactly; many small ones still grow geometrically.
        body.reserve(std::max(body.size() + size, body.capacity() * 2));
      }
      m_chunk_left = size;
      m_chunk_state = ChunkState::data;
      break;
    }
    case ChunkState::data: {
      const std::size_t n = std::min(m_chunk_left, data.size() - pos);
      if (n == 0) {
        return State::need_more;
      }
      body.append(data.data() + pos, n);
      pos += n;
      m_chunk_left -= n;
      if (m_chunk_left == 0) {
        m_chunk_state = ChunkState::data_crlf;
      }
      break;
    }
    case ChunkState::data_crlf: {
      if (pos >= data.size()) {
        return State::need_more;
      }
      if (data[pos] == '\n') {
        pos += 1;
      } else if (data[pos] == '\r' && pos + 1 >= data.size()) {
        return State::need_more;
      } else if (data[pos] == '\r' && data[pos + 1] == '\n') {
        pos += 2;
      } else {
        return fail(400, "missing CRLF after chunk data");
      }
      m_chunk_state = ChunkState::size;
      break;
    }
    case ChunkState::trailers: {
      const std::size_t lf = find_line_end(data, pos);
      if (lf == k_npos) {
        if (m_trailer_bytes + (data.size() - pos) > m_limits.max_header_bytes) {
          return fail(431, "request trailer fields too large");
        }
        return State::need_more;
      }
      m_trailer_bytes += lf + 1 - pos;
      if (m_trailer_bytes > m_limits.max_header_bytes) {
        return fail(431, "request trailer fields too large");
      }
      const std::string_view line = line_before(data, pos, lf);
      pos = lf + 1;
      if (line.empty()) {
        return State::complete;
      }
      // Kept apart from the headers (the head stays as sent), with the same checks: they
      // are stored and shown, so a value may not carry what a header value may not.
      if (parse_field_line(line, m_request.trailers, "trailer") == State::error) {
        return State::error;
      }
      break;
    }
    }
  }
}

} // namespace rag::core
