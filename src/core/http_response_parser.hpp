#pragma once

#include "core/record.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace rag::core {

// Incremental HTTP/1.x response parser (RFC 9112): feed the bytes a target sends as they
// arrive. Only an incomplete line is buffered between feeds; body bytes are copied once,
// straight from the caller's buffer into the body.
class HttpResponseParser
{
public:
  enum class State {
    need_more, // feed more bytes (or call finish() when the peer closed)
    complete,  // status(), headers() and body() hold the whole final response
    error,     // error() says why; the connection must be closed
  };

  // Parse one response; `head_request`: the request was HEAD (the response has no body
  // whatever its headers say); `max_body`: body bytes kept, a longer body completes the
  // response at the limit with body_truncated() set (the rest is never read, so the
  // connection is not reusable); `max_head`: bytes allowed in one response head (status
  // line + headers, line ends included), also the bound on a chunk-size line and on trailers.
  HttpResponseParser(bool head_request, std::size_t max_body, std::size_t max_head = 256 * 1024);

  // Consume `bytes` and advance; returns the new state. Bytes after a complete response
  // are not kept (they make the connection not reusable); in `error` bytes are ignored.
  State feed(std::string_view bytes);
  // Tell the parser the peer closed the connection: completes a body delimited by the
  // close; an incomplete head or length/chunk-framed body is an error ("connection closed
  // mid-response"; before any byte: "connection closed without a response").
  State finish();

  // The current state (what the last feed() or finish() returned).
  State state() const { return m_state; }
  // True once at least one response byte was fed.
  bool started() const { return m_bytes_fed > 0; }
  // All bytes fed so far, including any past the end of the response.
  std::size_t bytes_fed() const { return m_bytes_fed; }
  // True once the final (non-1xx) head was parsed: status, reason and headers are final.
  bool head_complete() const { return m_head_complete; }
  // The final status (1xx interim responses are skipped); 0 until the final head is parsed.
  int status() const { return m_head_complete ? m_status : 0; }
  // The final reason phrase as sent (CR and NUL bytes replaced by spaces); may be empty.
  const std::string& reason() const { return m_reason; }
  // The final head's headers: wire order, original case, duplicates kept, values trimmed,
  // obs-folds joined with one space, CR and NUL bytes in values replaced by spaces.
  const Headers& headers() const { return m_headers; }
  // Move the headers out (headers() is empty afterwards).
  Headers take_headers();
  // The body so far: de-chunked, never decompressed, cut at max_body.
  const std::string& body() const { return m_body; }
  // Move the body out (body() is empty afterwards).
  std::string take_body();
  // True when the body is longer than max_body, so only its first max_body bytes are kept.
  bool body_truncated() const { return m_truncated; }
  // True when the connection may carry another request: complete, HTTP/1.1 without
  // "Connection: close" (HTTP/1.0 only with "Connection: keep-alive"), body framed by
  // length or chunks (or none), not truncated, no bytes past the end, not a 101.
  bool reusable() const;
  // Why parsing failed: short, plain, lower case ("invalid status line", ...); else empty.
  const std::string& error() const { return m_error; }

private:
  enum class Phase {
    status_line,
    header_line,
    body_length,    // Content-Length framed: m_body_left bytes still to keep
    body_close,     // delimited by the close of the connection
    chunk_size,     // expecting a chunk-size line
    chunk_data,     // m_chunk_left bytes of the current chunk still to keep
    chunk_data_end, // expecting CRLF (or LF) after the chunk data
    chunk_data_lf,  // got the CR after the chunk data, expecting LF
    trailer_line,   // after the last chunk: trailer lines up to an empty line
    done,
  };
  enum class LineResult { line, need_more, too_long };

  State fail(std::string message);
  State complete();
  // Run the state machine over data[pos..], advancing `pos` past consumed bytes.
  State run(std::string_view data, std::size_t& pos);
  // Take the next line (without its CR LF) from the partial line plus data[pos..]; on
  // `need_more` the rest of data is buffered; `too_long` when the line with its LF would
  // exceed `max_bytes`. `consumed` gets the line's length on the wire (LF included).
  LineResult next_line(std::string_view data, std::size_t& pos, std::size_t max_bytes,
                       std::string_view& line, std::size_t& consumed);
  State parse_status_line(std::string_view line);
  void parse_header_line(std::string_view line);
  State finish_head();
  State parse_chunk_size(std::string_view line);

  bool m_head_request;
  std::size_t m_max_body;
  std::size_t m_max_head;

  State m_state = State::need_more;
  Phase m_phase = Phase::status_line;
  std::string m_line; // an incomplete line carried over from the previous feed
  std::size_t m_bytes_fed = 0;
  std::size_t m_head_bytes = 0;    // bytes of the current head (or of the trailers) so far
  std::size_t m_body_left = 0;     // body_length: bytes still to keep
  std::size_t m_chunk_left = 0;    // chunk_data: bytes of this chunk still to keep
  bool m_cut_after_chunk = false;  // the current chunk runs past max_body
  bool m_last_header_kept = false; // an obs-fold line continues the last header

  int m_status = 0;
  bool m_http11 = false;
  std::string m_reason;
  Headers m_headers;
  std::string m_body;
  bool m_head_complete = false;
  bool m_truncated = false;
  bool m_framed = true;      // body by length, chunks or none (not by close)
  bool m_keep_alive = false; // from the version and Connection
  bool m_suspect = false;    // framing that forbids reuse (TE with CL, TE in HTTP/1.0)
  bool m_extra = false;      // bytes arrived past the end of the response
  std::string m_error;
};

} // namespace rag::core
