#pragma once

#include "core/record.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// Return `text` as one POSIX shell word in single quotes ("it's" -> 'it'\''s').
std::string shell_quote(std::string_view text);

// Return a printf(1) format string, already single-quoted, whose output is exactly
// `bytes`: printable ASCII kept, '%' doubled, everything else as "\NNN" octal.
std::string printf_quote(std::string_view bytes);

// Return the URL a captured event was sent to: "http://" + its Host header (or the
// listener address from its source) + its raw target; an absolute-form target is
// returned as is. The sender chose that host: it describes the request (HAR), and is
// never where rag sends anything (see resend_target).
std::string event_url(const Event& event);

// What a curl command given where to send an event stands in for, to be edited: an
// invalid port, so that curl refuses the URL and connects nowhere.
inline constexpr std::string_view k_resend_placeholder = "http://localhost:PORT";

// Where a curl command re-sending an event connects, and what it asks for there.
struct ResendTarget
{
  std::string url;            // the URL given to curl
  std::string request_target; // for --request-target when not empty ("*", absolute form)
  bool keep_host = false;     // send the captured Host header (rag's own listener)
};

// Return where to re-send `event`, never a host its sender chose (the Host header or an
// absolute-form target): for a `listen:ADDR:PORT` source the listener that captured it
// (0.0.0.0 and :: as loopback), with the raw target and the captured Host; for a
// `tunnel:URL` source the target of the first original (not replayed) delivery among
// `deliveries`, a URL from the tunnel's own command line, exactly; otherwise (an
// imported event, a tunnel event never delivered, a source that is not a valid address)
// k_resend_placeholder with the raw target.
ResendTarget resend_target(const Event& event, const std::vector<Delivery>& deliveries);

// Return a POSIX shell command that re-sends `event` with curl to resend_target(event,
// deliveries): same method, raw target (--path-as-is, --globoff), headers in order
// (minus Content-Length and hop-by-hop ones, and minus Host unless resend_target keeps
// it; curl's own User-Agent/Accept/Content-Type suppressed when the event had none) and
// the exact body bytes (text in single quotes, anything with control bytes or invalid
// UTF-8 piped from printf). Lines end in " \" except the last. With `body_file` (a shell
// word, already quoted, naming a file that holds the exact body bytes) the body is read
// from that file with `--data-binary @FILE` instead.
std::string curl_command(const Event& event, const std::vector<Delivery>& deliveries = {},
                         std::string_view body_file = {});

// Return true when curl_command (without a body file) would pipe the body from
// printf rather than pass it as one quoted argument: bytes that are not printable
// text, a body over 100 kB, or one starting with '@'.
bool curl_body_needs_printf(const Event& event);

} // namespace rag::core
