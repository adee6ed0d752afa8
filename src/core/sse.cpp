#include "core/sse.hpp"

#include <cstring>
#include <utility>

namespace rag::core {

namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

// Return the index of the first CR or LF in text[from..], or npos. Two memchr scans
// instead of find_first_of, which libstdc++ runs as one memchr per byte (a hot spot
// of the relay and the tunnel: frames carry whole bodies in one line).
std::size_t
find_line_break(std::string_view text, std::size_t from)
{
  if (from >= text.size()) {
    return std::string_view::npos;
  }
  const char* begin = text.data() + from;
  const std::size_t size = text.size() - from;
  const void* lf = std::memchr(begin, '\n', size);
  const std::size_t cr_limit =
      lf != nullptr ? static_cast<std::size_t>(static_cast<const char*>(lf) - begin) : size;
  const void* cr = std::memchr(begin, '\r', cr_limit);
  const void* first = cr != nullptr ? cr : lf;
  return first == nullptr
             ? std::string_view::npos
             : from + static_cast<std::size_t>(static_cast<const char*>(first) - begin);
}

// Call `line_fn` for each line of `text`, where CRLF, LF or CR end a line; a text
// without any line break is one line (so "" is one empty line).
template<typename LineFn>
void
for_each_line(std::string_view text, LineFn&& line_fn)
{
  std::size_t start = 0;
  while (true) {
    const std::size_t end = find_line_break(text, start);
    if (end == std::string_view::npos) {
      line_fn(text.substr(start));
      return;
    }
    line_fn(text.substr(start, end - start));
    start = end + 1;
    if (text[end] == '\r' && start < text.size() && text[start] == '\n') {
      ++start;
    }
  }
}

// An id or event type holding a line break would end its line early and corrupt the
// frame: such characters are dropped.
void
append_field(std::string& out, std::string_view name, std::string_view value)
{
  out.append(name).append(": ");
  for (char c : value) {
    if (c != '\r' && c != '\n') {
      out.push_back(c);
    }
  }
  out.push_back('\n');
}

bool
all_digits(std::string_view text)
{
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

} // namespace

std::string
format_sse(const SseEvent& event)
{
  std::string out;
  out.reserve(event.data.size() + event.id.size() + event.event.size() + 32);
  if (!event.id.empty()) {
    append_field(out, "id", event.id);
  }
  if (!event.event.empty()) {
    append_field(out, "event", event.event);
  }
  for_each_line(event.data,
                [&](std::string_view line) { out.append("data: ").append(line).push_back('\n'); });
  out.push_back('\n');
  return out;
}

std::string
format_sse_data_start(std::string_view id, std::string_view event)
{
  std::string out;
  if (!id.empty()) {
    append_field(out, "id", id);
  }
  if (!event.empty()) {
    append_field(out, "event", event);
  }
  out.append("data: ");
  return out;
}

std::string
format_sse_comment(std::string_view text)
{
  std::string out;
  for_each_line(text, [&](std::string_view line) {
    out.append(line.empty() ? ":" : ": ").append(line).push_back('\n');
  });
  out.push_back('\n');
  return out;
}

SseParser::SseParser(std::size_t max_event_bytes) : m_max_event_bytes(max_event_bytes) {}

std::vector<SseEvent>
SseParser::feed(std::string_view bytes)
{
  std::vector<SseEvent> out;
  if (m_failed) {
    return out;
  }
  std::string head; // only used until the first bytes decided on a BOM
  if (!m_started) {
    // Until three bytes arrived, m_line holds the ones that could still be a BOM.
    head = m_line;
    head.append(bytes);
    m_line.clear();
    if (head.size() < k_bom.size() && k_bom.substr(0, head.size()) == head) {
      m_line = std::move(head);
      return out;
    }
    m_started = true;
    if (head.compare(0, k_bom.size(), k_bom) == 0) {
      head.erase(0, k_bom.size());
    }
    bytes = head;
  }

  std::size_t pos = 0;
  while (pos < bytes.size() && !m_failed) {
    if (m_after_cr) {
      m_after_cr = false;
      if (bytes[pos] == '\n') {
        ++pos; // the LF of a CRLF that was split across two feeds
        continue;
      }
    }
    const std::size_t end = find_line_break(bytes, pos);
    if (end == std::string_view::npos) {
      m_line.append(bytes.substr(pos));
      if (m_line.size() + m_data.size() + m_event.size() > m_max_event_bytes) {
        m_failed = true;
      }
      break;
    }
    const std::string_view piece = bytes.substr(pos, end - pos);
    if (m_line.size() + piece.size() + m_data.size() + m_event.size() > m_max_event_bytes) {
      m_failed = true;
      break;
    }
    if (m_line.empty()) {
      process_line(piece, out);
    } else {
      m_line.append(piece);
      process_line(m_line, out);
      m_line.clear();
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      m_after_cr = true;
    }
  }
  if (m_failed) {
    // Nothing more comes out of a failed parser, so its buffers can go.
    m_line.clear();
    m_line.shrink_to_fit();
    m_data.clear();
    m_data.shrink_to_fit();
    m_event.clear();
  }
  return out;
}

void
SseParser::process_line(std::string_view line, std::vector<SseEvent>& out)
{
  if (line.empty()) {
    // The id takes effect only here, at the blank line: an `id:` whose event was cut
    // off by a dropped connection must not count as received.
    m_last_id = m_id_buffer;
    if (m_has_data) {
      out.push_back(SseEvent{m_last_id, m_event, m_data});
    }
    m_data.clear();
    m_has_data = false;
    m_event.clear();
    return;
  }
  if (line.front() == ':') {
    return; // a comment
  }
  std::string_view field = line;
  std::string_view value;
  if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "event") {
    m_event.assign(value);
  } else if (field == "data") {
    if (m_has_data) {
      m_data.push_back('\n');
    }
    m_data.append(value);
    m_has_data = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      m_id_buffer.assign(value);
    }
  } else if (field == "retry") {
    // Digits only; more than 18 of them cannot be a sensible delay and would overflow.
    if (all_digits(value) && value.size() <= 18) {
      long long ms = 0;
      for (char c : value) {
        ms = ms * 10 + (c - '0');
      }
      m_retry_ms = ms;
    }
  }
}

} // namespace rag::core
