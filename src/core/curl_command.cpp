#include "core/curl_command.hpp"

#include "core/event_view.hpp"
#include "core/url.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <fmt/core.h>

namespace rag::core {

namespace {

// Bodies above this go through printf even when they are plain text: a single
// argument to an exec'd program is limited to 128 KiB on Linux (MAX_ARG_STRLEN).
constexpr std::size_t k_max_inline_body = 100 * 1000;

// Bodies above this make curl (7.x) send "Expect: 100-continue" unless told not to.
constexpr std::size_t k_expect_threshold = 1024;

constexpr std::array<std::string_view, 10> k_dropped_headers = {
    "content-length",    "host",    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "expect"};

// A shell word for `text`: single-quoted when printing it cannot disturb a terminal,
// else a printf command substitution that rebuilds the exact bytes.
std::string
shell_word(std::string_view text)
{
  if (terminal_line(text) == text) {
    return shell_quote(text);
  }
  return "\"$(printf " + printf_quote(text) + ")\"";
}

// Return "http://HOST[:PORT]" for the `ADDR:PORT` of a listen source ("127.0.0.1:7777",
// "[::1]:7777"), with the unspecified addresses as loopback; "" when it is not one.
std::string
listener_origin(std::string_view address)
{
  auto exact = parse_exact_url("http://" + std::string(address));
  if (!exact || exact->request_target != "/" || address.find_first_of("/?#") != address.npos) {
    return {};
  }
  Target& origin = exact->origin;
  // A listener bound to every interface is reached on loopback from here.
  if (origin.host == "0.0.0.0") {
    origin.host = "127.0.0.1";
  } else if (origin.host == "::") {
    origin.host = "::1";
  }
  return "http://" + host_header_value(origin);
}

// Return the first original (not replayed) attempt among `deliveries`, by start time;
// nullptr when there is none.
const Delivery*
first_original_delivery(const std::vector<Delivery>& deliveries)
{
  const Delivery* first = nullptr;
  for (const Delivery& delivery : deliveries) {
    if (!delivery.replay && (first == nullptr || delivery.time_us < first->time_us)) {
      first = &delivery;
    }
  }
  return first;
}

} // namespace

std::string
shell_quote(std::string_view text)
{
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string
printf_quote(std::string_view bytes)
{
  std::string out = "'";
  out.reserve(bytes.size() * 2 + 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '%') {
      out += "%%";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (b >= 0x20 && b < 0x7F && c != '\'') {
      out.push_back(c);
    } else {
      // Always three digits, so a following literal digit is never read as part of it.
      out += fmt::format("\\{:03o}", b);
    }
  }
  out.push_back('\'');
  return out;
}

std::string
event_url(const Event& event)
{
  const std::string_view target = event.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    return event.target;
  }
  std::string host;
  if (const std::string* value = find_header(event.headers, "host");
      value != nullptr && !value->empty()) {
    host = *value;
  } else if (event.source.starts_with("listen:")) {
    host = event.source.substr(7);
  } else {
    host = "localhost";
  }
  const std::string path = target.starts_with("/") ? event.target : std::string("/");
  return "http://" + host + path;
}

ResendTarget
resend_target(const Event& event, const std::vector<Delivery>& deliveries)
{
  ResendTarget out;
  std::string origin;
  if (event.source.starts_with("listen:")) {
    origin = listener_origin(std::string_view(event.source).substr(7));
    // The request goes back to where its sender connected, so its Host goes along.
    out.keep_host = !origin.empty();
  } else if (event.source.starts_with("tunnel:")) {
    // The tunnel forwards only to the targets on its own command line; the channel URL
    // is the relay's, and nothing there is this machine's.
    if (const Delivery* first = first_original_delivery(deliveries)) {
      if (auto exact = parse_exact_url(first->target)) {
        out.url = exact->origin.url + exact->request_target;
        return out;
      }
    }
  }
  if (origin.empty()) {
    origin = k_resend_placeholder;
  }
  // curl takes the request line's target from the URL's path; any other form ("*", an
  // absolute URL naming a host the sender chose) is sent verbatim with --request-target.
  if (event.target.starts_with("/")) {
    out.url = origin + event.target;
  } else {
    out.url = origin + "/";
    out.request_target = event.target;
  }
  return out;
}

bool
curl_body_needs_printf(const Event& event)
{
  return event.body.size() > k_max_inline_body || event.body.starts_with("@") ||
         terminal_text(event.body) != event.body;
}

std::string
curl_command(const Event& event, const std::vector<Delivery>& deliveries,
             std::string_view body_file)
{
  std::vector<std::string> parts;
  std::string first = "curl --path-as-is --globoff";
  if (event.http_version == "HTTP/1.0") {
    first += " --http1.0";
  }
  if (event.method == "HEAD") {
    first += " --head";
  } else {
    // Methods are tokens; only odd ones need quoting.
    const bool plain =
        !event.method.empty() && std::all_of(event.method.begin(), event.method.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
        });
    first += " -X " + (plain ? event.method : shell_word(event.method));
  }
  const ResendTarget destination = resend_target(event, deliveries);
  first += " " + shell_word(destination.url);
  if (!destination.request_target.empty()) {
    first += " --request-target " + shell_word(destination.request_target);
  }
  parts.push_back(std::move(first));

  const std::vector<std::string> listed = connection_options(event.headers);
  bool host_kept = false;
  for (const auto& [name, value] : event.headers) {
    const std::string lower = util::to_lower(name);
    // curl connects to the URL's host whatever Host says; the header only changes what
    // the listener sees, which then matches what it captured.
    if (lower == "host" && destination.keep_host && !host_kept) {
      host_kept = true;
      parts.push_back("-H " + shell_word(value.empty() ? name + ";" : name + ": " + value));
      continue;
    }
    const bool dropped = std::find(k_dropped_headers.begin(), k_dropped_headers.end(), lower) !=
                             k_dropped_headers.end() ||
                         std::find(listed.begin(), listed.end(), lower) != listed.end();
    if (dropped) {
      continue;
    }
    // curl sends "Name;" as a header with an empty value; "Name:" would remove it.
    parts.push_back("-H " + shell_word(value.empty() ? name + ";" : name + ": " + value));
  }

  const bool send_body = !event.body.empty() || has_header(event.headers, "content-length");
  for (const char* name : {"User-Agent", "Accept"}) {
    if (!has_header(event.headers, name)) {
      parts.push_back(fmt::format("-H '{}:'", name));
    }
  }
  if (send_body && !has_header(event.headers, "content-type")) {
    parts.push_back("-H 'Content-Type:'");
  }
  if (send_body && event.body.size() > k_expect_threshold) {
    parts.push_back("-H 'Expect:'");
  }

  std::string prefix;
  if (send_body && !body_file.empty()) {
    parts.push_back(fmt::format("--data-binary @{}", body_file));
  } else if (send_body) {
    // A leading '@' would make curl read a file; big or unprintable bodies go through
    // printf, a shell builtin, so no argument-size limit applies.
    if (!curl_body_needs_printf(event)) {
      parts.push_back("--data-binary " + shell_quote(event.body));
    } else {
      prefix = "printf " + printf_quote(event.body) + " | ";
      parts.push_back("--data-binary @-");
    }
  }

  std::string out = prefix;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += " \\\n  ";
    }
    out += parts[i];
  }
  out += "\n";
  return out;
}

} // namespace rag::core
