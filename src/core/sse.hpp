#pragma once

// Server-sent events (the WHATWG "text/event-stream" format): framing for the
// relay and an incremental parser for the tunnel. No I/O here.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// One server-sent event. An empty `event` means the default type, "message".
struct SseEvent
{
  std::string id;    // the stream's last event id when the event was dispatched
  std::string event; // event type; empty = "message"
  std::string data;  // lines joined with "\n", no trailing newline
};

// Return the wire frame for `event`: an `id:` line when `id` is not empty, an
// `event:` line when `event` is not empty, one `data:` line per line of `data`
// (so "a\nb" becomes two data lines), then the blank line that dispatches it.
std::string format_sse(const SseEvent& event);

// Return the start of a frame whose data is one line written by the caller: the `id:`
// and `event:` lines as format_sse writes them, then "data: ". The line must hold no CR
// or LF and be followed by k_sse_frame_end; lets a relay send a frame in pieces.
std::string format_sse_data_start(std::string_view id, std::string_view event = {});

// What ends a frame begun with format_sse_data_start().
inline constexpr std::string_view k_sse_frame_end = "\n\n";

// Return a comment frame (": text\n\n") that keeps a connection busy without
// dispatching anything.
std::string format_sse_comment(std::string_view text);

// Incremental text/event-stream parser: feed bytes as they arrive in any split
// (a CRLF may be cut in two); complete events come out in order. Follows the
// WHATWG rules: CRLF, LF or CR end a line; a leading U+FEFF is skipped; lines
// starting with ':' are comments; "field:value" drops one space after the colon;
// `id` persists across events (and is set even by an event without data); an
// event with no data lines is not dispatched; `id` containing NUL is ignored.
class SseParser
{
public:
  // `max_event_bytes` bounds the bytes buffered for one event (line + data); a
  // stream that exceeds it puts the parser in the failed state.
  explicit SseParser(std::size_t max_event_bytes = 128 * 1024 * 1024);

  // Consume `bytes` and return the events they completed, in order. Once
  // failed() returns true, further input is ignored and nothing is returned.
  std::vector<SseEvent> feed(std::string_view bytes);

  // The last event id seen so far, as of the last complete event (a blank line), which
  // is what a reconnect sends as Last-Event-ID.
  const std::string& last_event_id() const { return m_last_id; }
  // The last valid `retry:` value in milliseconds, if any.
  std::optional<long long> retry_ms() const { return m_retry_ms; }
  // True once an event grew past max_event_bytes.
  bool failed() const { return m_failed; }

private:
  void process_line(std::string_view line, std::vector<SseEvent>& out);

  std::size_t m_max_event_bytes;
  std::string m_line;      // the current, not yet terminated line
  bool m_after_cr = false; // the previous byte was a CR (a following LF is skipped)
  bool m_started = false;  // the first byte (a possible BOM) has been looked at
  std::string m_data;
  bool m_has_data = false;
  std::string m_event;
  std::string m_id_buffer; // the `id:` of the event being read, committed at its end
  std::string m_last_id;
  std::optional<long long> m_retry_ms;
  bool m_failed = false;
};

} // namespace rag::core
