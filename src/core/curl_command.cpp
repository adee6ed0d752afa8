#include "core/curl_command.hpp"

#include "core/event_view.hpp"
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

bool
curl_body_needs_printf(const Event& event)
{
  return event.body.size() > k_max_inline_body || event.body.starts_with("@") ||
         terminal_text(event.body) != event.body;
}

std::string
curl_command(const Event& event, std::string_view body_file)
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
  first += " " + shell_word(event_url(event));
  const std::string_view target = event.target;
  if (!target.starts_with("/") && !target.starts_with("http://") &&
      !target.starts_with("https://")) {
    first += " --request-target " + shell_word(event.target);
  }
  parts.push_back(std::move(first));

  const std::vector<std::string> listed = connection_options(event.headers);
  for (const auto& [name, value] : event.headers) {
    const std::string lower = util::to_lower(name);
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
