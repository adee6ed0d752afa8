#pragma once

#include "core/record.hpp"

#include <string>
#include <string_view>

namespace rag::core {

// Return `text` as one POSIX shell word in single quotes ("it's" -> 'it'\''s').
std::string shell_quote(std::string_view text);

// Return a printf(1) format string, already single-quoted, whose output is exactly
// `bytes`: printable ASCII kept, '%' doubled, everything else as "\NNN" octal.
std::string printf_quote(std::string_view bytes);

// Return the URL a captured event was sent to: "http://" + its Host header (or the
// listener address from its source) + its raw target; an absolute-form target is
// returned as is.
std::string event_url(const Event& event);

// Return a POSIX shell command that re-sends `event` with curl: same method, raw
// target (--path-as-is, --globoff), headers in order (minus Host, Content-Length and
// hop-by-hop ones; curl's own User-Agent/Accept/Content-Type suppressed when the
// event had none) and the exact body bytes (text in single quotes, anything with
// control bytes or invalid UTF-8 piped from printf). Lines end in " \" except the last.
// With `body_file` (a shell word, already quoted, naming a file that holds the exact
// body bytes) the body is read from that file with `--data-binary @FILE` instead.
std::string curl_command(const Event& event, std::string_view body_file = {});

// Return true when curl_command (without a body file) would pipe the body from
// printf rather than pass it as one quoted argument: bytes that are not printable
// text, a body over 100 kB, or one starting with '@'.
bool curl_body_needs_printf(const Event& event);

} // namespace rag::core
