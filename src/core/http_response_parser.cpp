#include "core/http_response_parser.hpp"

#include "core/http_syntax.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace rag::core {

namespace {

using namespace http;

constexpr std::size_t k_npos = std::string_view::npos;

bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

// RFC 9110 §5.5 / RFC 9112 §2.2: a CR or NUL inside a field must be rejected or replaced
// by SP before the field is forwarded; replacing keeps odd targets working and makes the
// value safe to hand on to the sender (no response splitting).
void
neutralise_cr_nul(std::string& text)
{
  for (char& c : text) {
    if (c == '\r' || c == '\0') {
      c = ' ';
    }
  }
}

} // namespace

HttpResponseParser::HttpResponseParser(bool head_request, std::size_t max_body,
                                       std::size_t max_head)
    : m_head_request(head_request), m_max_body(max_body), m_max_head(max_head)
{}

HttpResponseParser::State
HttpResponseParser::feed(std::string_view bytes)
{
  m_bytes_fed += bytes.size();
  if (m_state == State::complete) {
    m_extra = m_extra || !bytes.empty();
    return m_state;
  }
  if (m_state == State::error) {
    return m_state;
  }
  std::size_t pos = 0;
  const State state = run(bytes, pos);
  if (state == State::complete && pos < bytes.size()) {
    // The rest of a truncated body, or bytes the target sent past its response: either
    // way the stream position is unknown to the next request.
    m_extra = true;
  }
  return state;
}

HttpResponseParser::State
HttpResponseParser::finish()
{
  if (m_state != State::need_more) {
    return m_state;
  }
  if (m_bytes_fed == 0) {
    return fail("connection closed without a response");
  }
  if (m_phase == Phase::body_close) {
    return complete();
  }
  return fail("connection closed mid-response");
}

Headers
HttpResponseParser::take_headers()
{
  Headers headers = std::move(m_headers);
  m_headers.clear();
  return headers;
}

std::string
HttpResponseParser::take_body()
{
  std::string body = std::move(m_body);
  m_body.clear();
  return body;
}

bool
HttpResponseParser::reusable() const
{
  return m_state == State::complete && m_keep_alive && m_framed && !m_suspect && !m_truncated &&
         !m_extra && m_status != 101;
}

HttpResponseParser::State
HttpResponseParser::fail(std::string message)
{
  m_state = State::error;
  m_error = std::move(message);
  // Nothing more will be parsed; what was parsed (status, headers) stays for the record.
  std::string().swap(m_line);
  return m_state;
}

HttpResponseParser::State
HttpResponseParser::complete()
{
  m_phase = Phase::done;
  m_state = State::complete;
  std::string().swap(m_line);
  return m_state;
}

HttpResponseParser::LineResult
HttpResponseParser::next_line(std::string_view data, std::size_t& pos, std::size_t max_bytes,
                              std::string_view& line, std::size_t& consumed)
{
  const std::size_t avail = data.size() - pos;
  const void* found = avail > 0 ? std::memchr(data.data() + pos, '\n', avail) : nullptr;
  if (found == nullptr) {
    // Checked before buffering, so an endless line never grows past the limit.
    if (m_line.size() + avail > max_bytes) {
      return LineResult::too_long;
    }
    m_line.append(data.data() + pos, avail);
    pos = data.size();
    return LineResult::need_more;
  }
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(found) - data.data());
  consumed = m_line.size() + (lf - pos) + 1;
  if (consumed > max_bytes) {
    return LineResult::too_long;
  }
  if (m_line.empty()) {
    // The common case: the whole line is in this feed, so it is never copied.
    line = data.substr(pos, lf - pos);
  } else {
    m_line.append(data.data() + pos, lf - pos);
    line = m_line;
  }
  pos = lf + 1;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return LineResult::line;
}

HttpResponseParser::State
HttpResponseParser::run(std::string_view data, std::size_t& pos)
{
  std::string_view line;
  std::size_t consumed = 0;
  while (true) {
    switch (m_phase) {
    case Phase::status_line:
    case Phase::header_line: {
      const std::size_t room = m_max_head - m_head_bytes;
      const LineResult result = next_line(data, pos, room, line, consumed);
      if (result == LineResult::need_more) {
        return m_state;
      }
      if (result == LineResult::too_long) {
        const bool kib = m_max_head % 1024 == 0;
        return fail("response head over " + std::to_string(kib ? m_max_head / 1024 : m_max_head) +
                    (kib ? " KiB" : " bytes"));
      }
      m_head_bytes += consumed;
      State state = State::need_more;
      if (m_phase == Phase::status_line) {
        state = parse_status_line(line);
      } else if (line.empty()) {
        state = finish_head();
      } else {
        parse_header_line(line);
      }
      m_line.clear();
      if (state != State::need_more) {
        return state;
      }
      break;
    }
    case Phase::body_length: {
      const std::size_t n = std::min(m_body_left, data.size() - pos);
      m_body.append(data.data() + pos, n);
      pos += n;
      m_body_left -= n;
      if (m_body_left > 0) {
        return m_state;
      }
      return complete();
    }
    case Phase::body_close: {
      const std::size_t avail = data.size() - pos;
      const std::size_t n = std::min(m_max_body - m_body.size(), avail);
      m_body.append(data.data() + pos, n);
      pos += n;
      if (n < avail) {
        // A byte beyond max_body exists: the body is longer than what we keep.
        m_truncated = true;
        return complete();
      }
      return m_state;
    }
    case Phase::chunk_size:
    case Phase::trailer_line: {
      const bool size_line = m_phase == Phase::chunk_size;
      const std::size_t room = size_line ? m_max_head : m_max_head - m_head_bytes;
      const LineResult result = next_line(data, pos, room, line, consumed);
      if (result == LineResult::need_more) {
        return m_state;
      }
      if (result == LineResult::too_long) {
        return fail(size_line ? "chunk size line too long" : "response trailers too long");
      }
      State state = State::need_more;
      if (size_line) {
        state = parse_chunk_size(line);
      } else {
        // Trailer fields are read and dropped: the head is kept as sent.
        m_head_bytes += consumed;
        if (line.empty()) {
          state = complete();
        }
      }
      m_line.clear();
      if (state != State::need_more) {
        return state;
      }
      break;
    }
    case Phase::chunk_data: {
      const std::size_t n = std::min(m_chunk_left, data.size() - pos);
      m_body.append(data.data() + pos, n);
      pos += n;
      m_chunk_left -= n;
      if (m_chunk_left > 0) {
        return m_state;
      }
      if (m_cut_after_chunk) {
        m_truncated = true;
        return complete();
      }
      m_phase = Phase::chunk_data_end;
      break;
    }
    case Phase::chunk_data_end:
    case Phase::chunk_data_lf: {
      if (pos >= data.size()) {
        return m_state;
      }
      const char c = data[pos++];
      if (c == '\n') {
        m_phase = Phase::chunk_size;
      } else if (c == '\r' && m_phase == Phase::chunk_data_end) {
        m_phase = Phase::chunk_data_lf;
      } else {
        return fail("missing CRLF after chunk data");
      }
      break;
    }
    case Phase::done: return m_state;
    }
  }
}

HttpResponseParser::State
HttpResponseParser::parse_status_line(std::string_view line)
{
  // "HTTP/1.x SSS" then nothing or " reason": RFC 9112 §4.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !is_digit(line[7]) || line[8] != ' ' ||
      !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
      (line.size() > 12 && line[12] != ' ')) {
    return fail("invalid status line");
  }
  const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100) {
    return fail("invalid status line");
  }
  m_status = status;
  m_http11 = line[7] != '0';
  m_reason.assign(line.size() > 12 ? line.substr(13) : std::string_view());
  neutralise_cr_nul(m_reason);
  m_phase = Phase::header_line;
  m_last_header_kept = false;
  // Typical response heads carry 5-20 fields: one allocation instead of five.
  m_headers.reserve(16);
  return State::need_more;
}

void
HttpResponseParser::parse_header_line(std::string_view line)
{
  if (is_ows(line.front())) {
    // obs-fold (RFC 9112 §5.2): a continuation of the previous field value. With no kept
    // field before it (right after the status line, or after a skipped line) it is dropped.
    const std::string_view more = trim_ows(line);
    if (m_last_header_kept && !more.empty()) {
      std::string& value = m_headers.back().second;
      if (!value.empty()) {
        value += ' ';
      }
      value.append(more);
      neutralise_cr_nul(value);
    }
    return;
  }
  const std::size_t colon = line.find(':');
  // RFC 9112 §5.1: whitespace before the colon is removed by a proxy before forwarding.
  const std::string_view name =
      colon == k_npos ? std::string_view() : trim_ows(line.substr(0, colon));
  // Junk lines (no colon, empty or non-token name) are skipped, as the old client did:
  // a name with spaces or control bytes could not be forwarded as a valid field anyway.
  m_last_header_kept = is_token(name);
  if (!m_last_header_kept) {
    return;
  }
  m_headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
  neutralise_cr_nul(m_headers.back().second);
}

HttpResponseParser::State
HttpResponseParser::finish_head()
{
  if (m_status < 200 && m_status != 101) {
    // Interim response (100 Continue, 102, 103 Early Hints): dropped whole, the final
    // response follows on the same stream.
    m_headers.clear();
    m_reason.clear();
    m_status = 0;
    m_head_bytes = 0;
    m_phase = Phase::status_line;
    return State::need_more;
  }
  m_head_complete = true;

  const Framing framing = read_framing(m_headers);
  // A list of identical Content-Length values is tolerated (RFC 9110 §8.6); anything
  // else is not, and an overflowing one is as bad as a malformed one.
  const bool length_bad = framing.length_invalid();
  m_keep_alive = keeps_alive(framing, m_http11);

  // RFC 9112 §6.3, in its order.
  if (m_head_request || m_status == 101 || m_status == 204 || m_status == 304) {
    return complete();
  }
  if (framing.has_te) {
    // Transfer-Encoding overrides Content-Length, but the pair (and TE in HTTP/1.0) smells
    // of smuggling: finish this response, then close (§6.1, §6.3 rule 3).
    m_suspect = framing.has_length || length_bad || !m_http11;
    if (framing.chunked_last) {
      m_phase = Phase::chunk_size;
      return State::need_more;
    }
    m_framed = false;
    m_phase = Phase::body_close;
    return State::need_more;
  }
  if (length_bad) {
    return fail("invalid Content-Length");
  }
  if (framing.has_length) {
    const bool cut = framing.length > m_max_body;
    m_body_left = cut ? m_max_body : static_cast<std::size_t>(framing.length);
    if (m_body_left == 0) {
      m_truncated = cut;
      return complete();
    }
    // The whole kept body is stored exactly once, so allocate it once.
    m_body.reserve(m_body_left);
    // Completing at the limit without reading the rest leaves the stream mid-body.
    m_truncated = cut;
    m_phase = Phase::body_length;
    return State::need_more;
  }
  m_framed = false;
  m_phase = Phase::body_close;
  return State::need_more;
}

HttpResponseParser::State
HttpResponseParser::parse_chunk_size(std::string_view line)
{
  std::size_t size = 0;
  if (http::parse_chunk_size(line, size) != ChunkSize::ok) {
    return fail("invalid chunk size");
  }
  if (size == 0) {
    m_phase = Phase::trailer_line;
    m_head_bytes = 0;
    return State::need_more;
  }
  const std::size_t room = m_max_body - m_body.size();
  if (room == 0) {
    m_truncated = true;
    return complete();
  }
  m_cut_after_chunk = size > room;
  m_chunk_left = std::min(size, room);
  if (m_body.capacity() < m_body.size() + m_chunk_left) {
    // One big chunk is allocated exactly; many small ones still grow geometrically.
    m_body.reserve(std::max(m_body.size() + m_chunk_left, m_body.capacity() * 2));
  }
  m_phase = Phase::chunk_data;
  return State::need_more;
}

} // namespace rag::core
