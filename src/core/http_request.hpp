#pragma once

#include "core/record.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace rag::core {

// A request as it came on the wire: nothing decoded, nothing reordered.
struct HttpRequest
{
  std::string method;
  std::string target;       // raw, exactly as in the request line
  std::string http_version; // "HTTP/1.1" / "HTTP/1.0"
  Headers headers;          // arrival order, original case, empty values kept
  std::string body;         // de-chunked when `chunked`
  Headers trailers;         // chunked trailer fields, as headers are kept (bounded alike)
  bool chunked = false;
  bool keep_alive = true;       // from version + Connection header
  bool expect_continue = false; // HTTP/1.1 with `Expect: 100-continue`
};

struct HttpLimits
{
  std::size_t max_header_bytes = 64 * 1024;      // request line + headers
  std::size_t max_body_bytes = 25 * 1024 * 1024; // after de-chunking
};

// Incremental HTTP/1.x request parser: feed bytes as they arrive; it reports when
// the head is complete (so a server can answer 100-continue / reject early) and
// when the whole request is complete. Bytes past the request stay buffered for
// the next one (pipelining). It refuses what RFC 9112 makes a server refuse: 400 for
// HTTP/1.1 without Host, several Host lines, an invalid Host value or faulty framing,
// 501 for a transfer coding other than chunked. A chunked body's trailer fields are kept
// (request().trailers), checked and bounded as header lines are. After an error,
// request() still holds what was read of the head (no body).
class HttpRequestParser
{
public:
  enum class State {
    need_more,     // feed more bytes
    head_complete, // head parsed, body pending (reported once, before any body byte)
    complete,      // request() holds a whole request; call reset_for_next()
    error,         // status()/reason() say what to answer; close afterwards
  };

  explicit HttpRequestParser(HttpLimits limits = {});

  // Append received bytes and advance; returns the new state. In `complete` the
  // bytes are only buffered (for the next request); in `error` they are dropped.
  State feed(std::string_view bytes);
  // Advance on what is buffered already (after head_complete, or after reset).
  State advance();

  State state() const { return m_state; }
  const HttpRequest& request() const { return m_request; }
  HttpRequest take_request();
  // On error: the status to answer (400, 413, 431, 501, 505) and a short reason.
  int status() const { return m_status; }
  const std::string& reason() const { return m_reason; }
  // Declared body length when known from Content-Length, else -1.
  long long content_length() const { return m_content_length; }
  // Body bytes read of the request in progress (after de-chunking), also once an error
  // has dropped them.
  std::size_t body_bytes() const
  {
    return m_state == State::error ? m_dropped_body_bytes : m_request.body.size();
  }

  // Drop the finished request, keep any pipelined bytes, start on the next one.
  void reset_for_next();
  // True when no byte of a next request has been buffered.
  bool buffer_empty() const { return m_pos >= m_buffer.size(); }
  // Bytes held in the internal buffer right now (parsed or not); bounded by the
  // head limit plus one feed while a head is incomplete.
  std::size_t buffered_bytes() const { return m_buffer.size(); }

private:
  State fail(int status, std::string reason);
  // Run the state machine over data[pos..], advancing `pos` past consumed bytes.
  State run(std::string_view data, std::size_t& pos);
  // Return the index of the next LF in data[pos..] (resuming where the last search
  // stopped), or npos when the line is not complete yet.
  std::size_t find_line_end(std::string_view data, std::size_t pos);
  State parse_head(std::string_view data, std::size_t& pos);
  State parse_request_line(std::string_view line);
  // Parse one field line into `fields` (the headers, or the trailers: `what` names them
  // in the reason of a refusal).
  State parse_field_line(std::string_view line, Headers& fields, std::string_view what);
  State finish_head();
  State parse_body(std::string_view data, std::size_t& pos);
  State parse_chunked(std::string_view data, std::size_t& pos);

  HttpLimits m_limits;
  State m_state = State::need_more;
  HttpRequest m_request;
  std::string m_buffer;
  std::size_t m_pos = 0;       // parse position in m_buffer
  std::size_t m_scan_from = 0; // bytes after m_pos already searched for a line end
  long long m_content_length = -1;
  bool m_head_done = false;
  bool m_seen_request_line = false;
  std::size_t m_head_bytes = 0; // head bytes consumed so far (for the 431 limit)
  std::size_t m_body_left = 0;  // Content-Length bytes still to read
  int m_status = 0;
  std::string m_reason;
  std::size_t m_dropped_body_bytes = 0; // body bytes read before an error dropped them
  // chunked decoding state
  enum class ChunkState { size, data, data_crlf, trailers } m_chunk_state = ChunkState::size;
  std::size_t m_chunk_left = 0;
  std::size_t m_trailer_bytes = 0;
};

} // namespace rag::core
