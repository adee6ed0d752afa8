#include "core/event_view.hpp"

#include "core/duration.hpp"
#include "core/id.hpp"
#include "core/json_bounded.hpp"
#include "core/log/record_time.hpp"
#include "util/bytes.hpp"
#include "util/terminal.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

// Decode one UTF-8 sequence at `pos`; return its length (0 when malformed) and the
// code point in `cp`. Same rules as util::is_valid_utf8: no overlongs, no surrogates.
std::size_t
decode_utf8(std::string_view text, std::size_t pos, char32_t& cp)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char b0 = byte(0);
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    lo = b0 == 0xE0 ? 0xA0 : 0x80;
    hi = b0 == 0xED ? 0x9F : 0xBF;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    lo = b0 == 0xF0 ? 0x90 : 0x80;
    hi = b0 == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (pos + len > text.size()) {
    return 0;
  }
  for (std::size_t i = 1; i < len; ++i) {
    const unsigned char b = byte(i);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

// Code points that reorder or hide text (Trojan Source) or break lines on their own.
bool
is_invisible_control(char32_t cp)
{
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

std::string
make_terminal_safe(std::string_view text, bool keep_newlines)
{
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b < 0x20 || b == 0x7F) {
      const bool crlf = b == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n';
      if (keep_newlines && (b == '\n' || b == '\t' || crlf)) {
        out.push_back(static_cast<char>(b));
      } else {
        out += fmt::format("\\x{:02x}", b);
      }
      ++pos;
      continue;
    }
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++pos;
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, pos, cp);
    if (len == 0) {
      out += fmt::format("\\x{:02x}", b);
      ++pos;
    } else if (is_invisible_control(cp)) {
      out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
      pos += len;
    } else {
      out.append(text.substr(pos, len));
      pos += len;
    }
  }
  return out;
}

std::string
pad_right(std::string_view text, std::size_t width)
{
  std::string out(text);
  const std::size_t w = display_width(text);
  if (w < width) {
    out.append(width - w, ' ');
  }
  return out;
}

std::string
pad_left(std::string_view text, std::size_t width)
{
  const std::size_t w = display_width(text);
  std::string out;
  if (w < width) {
    out.append(width - w, ' ');
  }
  out.append(text);
  return out;
}

util::Color
outcome_color(const TargetOutcome& outcome)
{
  if (!outcome.error.empty() || outcome.status >= 500 || outcome.status <= 0) {
    return util::Color::red;
  }
  if (outcome.status >= 400) {
    return util::Color::yellow;
  }
  if (outcome.status >= 300) {
    return util::Color::cyan;
  }
  if (outcome.status >= 200) {
    return util::Color::green;
  }
  return util::Color::none;
}

std::string
refused_label(int status)
{
  return fmt::format("{} refused", status);
}

std::string
plain_status_cell(const TableRow& row)
{
  const std::vector<TargetOutcome>& outcomes = row.outcomes;
  if (outcomes.empty() && row.refused == 0) {
    return "-";
  }
  std::string out = row.refused != 0 ? refused_label(row.refused) : std::string();
  for (const auto& outcome : outcomes) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    out += outcome_label(outcome);
  }
  return out;
}

bool
local_tm(std::int64_t time_us, std::tm& tm)
{
  std::int64_t secs = time_us / 1'000'000;
  if (time_us < 0 && time_us % 1'000'000 != 0) {
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  return localtime_r(&t, &tm) != nullptr;
}

std::int64_t
millis_of(std::int64_t time_us)
{
  const std::int64_t ms = (time_us / 1000) % 1000;
  return ms < 0 ? ms + 1000 : ms;
}

// Full local date and time with milliseconds: "2026-11-26 07:45:27.123".
std::string
format_local_time(std::int64_t time_us)
{
  std::tm tm{};
  if (!local_tm(time_us, tm)) {
    return format_time_us(time_us);
  }
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis_of(time_us));
}

// Prefix every line of `text` with `indent` (a trailing newline stays last).
std::string
indent_lines(std::string_view text, std::string_view indent)
{
  if (indent.empty()) {
    return std::string(text);
  }
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    out.append(indent);
    out.append(text.substr(start, end - start));
    start = end;
  }
  return out;
}

// Return the longest prefix of `text` of at most `max` bytes that does not end inside
// a UTF-8 sequence.
std::string_view
utf8_prefix(std::string_view text, std::size_t max)
{
  if (text.size() <= max) {
    return text;
  }
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut);
}

std::string
pretty_json(std::string_view body)
{
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (body[first] != '{' && body[first] != '[')) {
    return {};
  }
  try {
    // ordered_json keeps the sender's key order, which is how people read payloads.
    // A body is foreign bytes: too deep a one is shown as it is, not pretty-printed.
    const auto value = parse_json_bounded<nlohmann::ordered_json>(body);
    if (value.is_discarded()) {
      return {};
    }
    return value.dump(2);
  } catch (const std::exception&) {
    return {};
  }
}

std::string
dim(std::string_view text, bool color)
{
  return util::colorize(text, util::Color::gray, color);
}

} // namespace

std::string
terminal_line(std::string_view text)
{
  return make_terminal_safe(text, false);
}

std::string
terminal_text(std::string_view text)
{
  return make_terminal_safe(text, true);
}

std::size_t
display_width(std::string_view text)
{
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string
fit_width(std::string_view text, std::size_t width)
{
  if (display_width(text) <= width) {
    return std::string(text);
  }
  if (width == 0) {
    return {};
  }
  std::string out;
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts_char = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts_char && ++columns == width) {
      break;
    }
    out.push_back(text[i]);
  }
  out += "…";
  return out;
}

std::string
format_table_time(std::int64_t time_us, std::int64_t now_us)
{
  std::tm tm{};
  std::tm now_tm{};
  if (!local_tm(time_us, tm) || !local_tm(now_us, now_tm)) {
    return format_time_us(time_us);
  }
  const std::string clock =
      fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, millis_of(time_us));
  if (tm.tm_year == now_tm.tm_year && tm.tm_yday == now_tm.tm_yday) {
    return clock;
  }
  return fmt::format("{:04}-{:02}-{:02} {}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, clock);
}

std::string
outcome_label(const TargetOutcome& outcome)
{
  if (!outcome.error.empty() || outcome.status <= 0) {
    return "ERR";
  }
  return std::to_string(outcome.status);
}

TableRow
make_table_row(const Event& event, const DeliverySummary& deliveries, std::int64_t now_us)
{
  TableRow row;
  row.time = format_table_time(event.time_us, now_us);
  row.id = terminal_line(short_id(event.id));
  row.method = terminal_line(event.method);
  row.path = terminal_line(event.target);
  // A refused request's body was not recorded: its size is not known to be 0.
  row.size = event.rejected && event.rejected->body_dropped ? std::string("-")
                                                            : util::human_size(event.body.size());
  row.outcomes = deliveries.targets();
  row.refused = EventFilter::refused_status(event);
  row.sig = event.verdict.empty() ? std::string("-") : terminal_line(event.verdict);
  return row;
}

TableLayout
layout_table(const std::vector<TableRow>& rows, std::size_t max_width, bool grows)
{
  TableLayout layout;
  layout.time = 4;
  layout.id = 2;
  layout.method = 6;
  layout.path = 4;
  layout.size = 4;
  layout.status = 6;
  std::size_t sig = 3;
  if (grows) {
    // Room for typical rows that have not arrived yet.
    layout.time = 12;
    layout.id = 4 + k_short_id_chars;
    layout.path = 30;
    layout.size = 9;
  }
  for (const auto& row : rows) {
    layout.time = std::max(layout.time, display_width(row.time));
    layout.id = std::max(layout.id, display_width(row.id));
    layout.method = std::max(layout.method, display_width(row.method));
    layout.path = std::max(layout.path, display_width(row.path));
    layout.size = std::max(layout.size, display_width(row.size));
    layout.status = std::max(layout.status, display_width(plain_status_cell(row)));
    sig = std::max(sig, display_width(row.sig));
  }
  if (max_width > 0) {
    layout.cut_path = true;
    const std::size_t others =
        layout.time + layout.id + layout.method + layout.size + layout.status + sig + 6 * 2;
    const std::size_t available = max_width > others ? max_width - others : 0;
    layout.path = std::max<std::size_t>(grows ? available : std::min(layout.path, available), 12);
  }
  return layout;
}

std::string
render_table_header(const TableLayout& layout, bool color)
{
  const std::string line = fmt::format(
      "{}  {}  {}  {}  {}  {}  SIG", pad_right("TIME", layout.time), pad_right("ID", layout.id),
      pad_right("METHOD", layout.method), pad_right("PATH", layout.path),
      pad_left("SIZE", layout.size), pad_right("STATUS", layout.status));
  return util::colorize(line, util::Color::bold, color);
}

std::string
render_table_row(const TableRow& row, const TableLayout& layout, bool color)
{
  const std::string path = layout.cut_path ? fit_width(row.path, layout.path) : row.path;
  std::string status;
  if (row.refused != 0) {
    const TargetOutcome refusal{{}, row.refused, {}, 0};
    status = util::colorize(refused_label(row.refused), outcome_color(refusal), color);
  }
  if (row.outcomes.empty() && row.refused == 0) {
    status = "-";
  } else {
    for (const auto& outcome : row.outcomes) {
      if (!status.empty()) {
        status.push_back(' ');
      }
      status += util::colorize(outcome_label(outcome), outcome_color(outcome), color);
    }
  }
  const std::size_t status_width = display_width(plain_status_cell(row));
  if (status_width < layout.status) {
    status.append(layout.status - status_width, ' ');
  }
  return fmt::format("{}  {}  {}  {}  {}  {}  {}", pad_right(row.time, layout.time),
                     pad_right(row.id, layout.id), pad_right(row.method, layout.method),
                     pad_right(path, layout.path), pad_left(row.size, layout.size), status,
                     row.sig);
}

std::string
render_delivery_line(const Delivery& delivery, bool color)
{
  const TargetOutcome outcome{delivery.target, delivery.status, delivery.error,
                              delivery.duration_us};
  std::string line = fmt::format(
      "→ {} {} {}", util::colorize(outcome_label(outcome), outcome_color(outcome), color),
      terminal_line(delivery.target), format_duration_us(delivery.duration_us));
  if (delivery.attempt > 1 || delivery.replay) {
    line += fmt::format(" (attempt {}{})", delivery.attempt, delivery.replay ? ", replay" : "");
  }
  if (!delivery.error.empty()) {
    line += ": " + terminal_line(delivery.error);
  }
  return line;
}

std::string
format_request_head(const Event& event)
{
  std::string out;
  out.reserve(64 + event.target.size() + event.headers.size() * 48);
  out.append(event.method).append(" ").append(event.target).append(" ");
  out.append(event.http_version).append("\n");
  for (const auto& [name, value] : event.headers) {
    out.append(name).append(": ").append(value).append("\n");
  }
  return out;
}

std::string
hex_dump(std::string_view bytes, std::size_t max_bytes)
{
  constexpr char k_hex[] = "0123456789abcdef";
  const std::size_t n = std::min(bytes.size(), max_bytes);
  std::string out;
  for (std::size_t offset = 0; offset < n; offset += 16) {
    out += fmt::format("{:08x}: ", offset);
    std::string ascii;
    for (std::size_t i = 0; i < 16; ++i) {
      if (offset + i < n) {
        const auto b = static_cast<unsigned char>(bytes[offset + i]);
        out.push_back(k_hex[b >> 4]);
        out.push_back(k_hex[b & 0x0F]);
        ascii.push_back(b >= 0x20 && b < 0x7F ? static_cast<char>(b) : '.');
      } else {
        out.append("  ");
      }
      if (i % 2 == 1 && i != 15) {
        out.push_back(' ');
      }
    }
    out.append("  ").append(ascii).append("\n");
  }
  return out;
}

std::string
render_body(std::string_view body, const BodyStyle& style)
{
  if (body.empty()) {
    return {};
  }
  std::string out;
  const bool text = util::is_valid_utf8(body) && body.find('\0') == std::string_view::npos;
  if (text) {
    std::string shown = style.pretty_json ? pretty_json(body) : std::string();
    if (shown.empty()) {
      shown = std::string(body);
    }
    const std::string_view kept = utf8_prefix(shown, style.max_text_bytes);
    out = terminal_text(kept);
    if (out.empty() || out.back() != '\n') {
      out.push_back('\n');
    }
    if (kept.size() < shown.size()) {
      out += fmt::format("… {} more bytes\n", shown.size() - kept.size());
    }
  } else {
    out = fmt::format("binary body, {} bytes\n", body.size());
    out += hex_dump(body, style.max_hex_bytes);
    if (body.size() > style.max_hex_bytes) {
      out += fmt::format("… {} more bytes\n", body.size() - style.max_hex_bytes);
    }
  }
  return indent_lines(out, style.indent);
}

std::string
render_event_detail(const Event& event, const std::vector<Delivery>& deliveries,
                    const DetailStyle& style)
{
  const bool color = style.color;
  std::string out;
  // A refused request may have been refused before its request line could be read.
  const std::string request_line =
      event.method.empty() && event.target.empty()
          ? std::string("(no request line was read)")
          : fmt::format("{} {} {}", terminal_line(event.method), terminal_line(event.target),
                        terminal_line(event.http_version));
  out += util::colorize(request_line, util::Color::bold, color) + "\n";
  const auto meta = [&](std::string_view label, const std::string& value) {
    out += dim(fmt::format("{:<8}", label), color) + " " + value + "\n";
  };
  meta("id", terminal_line(event.id));
  meta("time",
       fmt::format("{} ({})", format_local_time(event.time_us), format_time_us(event.time_us)));
  meta("source", terminal_line(event.source));
  meta("remote", terminal_line(event.remote));
  const auto bytes = [](std::uint64_t size) {
    return size < 1024 ? fmt::format("{} bytes", size)
                       : fmt::format("{} ({} bytes)", util::human_size(size), size);
  };
  const bool body_dropped = event.rejected && event.rejected->body_dropped;
  if (body_dropped) {
    // Nothing of the body is in the log: say so rather than show an empty one.
    meta("size",
         fmt::format("not recorded ({} read before the refusal){}",
                     bytes(*event.rejected->body_dropped), event.chunked ? ", sent chunked" : ""));
  } else {
    meta("size", bytes(event.body.size()) + (event.chunked ? ", sent chunked" : ""));
    meta("sha256", util::sha256_hex(event.body));
  }
  if (!event.verdict.empty()) {
    meta("verdict", terminal_line(event.verdict));
  }
  if (event.rejected) {
    const TargetOutcome refusal{{}, event.rejected->status, {}, 0};
    meta("refused", util::colorize(fmt::format("{} {}", event.rejected->status,
                                               terminal_line(event.rejected->reason)),
                                   outcome_color(refusal), color));
  }

  if (!event.headers.empty()) {
    out += "\n";
  }
  for (const auto& [name, value] : event.headers) {
    out += util::colorize(terminal_line(name), util::Color::cyan, color) + ": " +
           terminal_line(value) + "\n";
  }
  if (!event.body.empty()) {
    BodyStyle body_style;
    body_style.pretty_json = style.pretty_json;
    out += "\n" + render_body(event.body, body_style);
  }
  if (!event.trailers.empty()) {
    out += "\n" + dim("trailers (after the body; not forwarded)", color) + "\n";
    for (const auto& [name, value] : event.trailers) {
      out += util::colorize(terminal_line(name), util::Color::cyan, color) + ": " +
             terminal_line(value) + "\n";
    }
  }

  out += "\n";
  if (deliveries.empty()) {
    out += dim("no deliveries", color) + "\n";
  }
  bool after_block = false;
  for (const auto& delivery : deliveries) {
    // A delivery that showed a response is set apart from the next one.
    if (after_block) {
      out += "\n";
    }
    after_block = delivery.error.empty() &&
                  (!delivery.response_headers.empty() || !delivery.response_body.empty());
    out += render_delivery_line(delivery, color);
    out += dim(fmt::format("  at {}", format_local_time(delivery.time_us)), color) + "\n";
    if (!delivery.error.empty()) {
      continue;
    }
    for (const auto& [name, value] : delivery.response_headers) {
      out += "  " + util::colorize(terminal_line(name), util::Color::cyan, color) + ": " +
             terminal_line(value) + "\n";
    }
    if (!delivery.response_body.empty()) {
      BodyStyle body_style;
      body_style.pretty_json = style.pretty_json;
      body_style.max_text_bytes = 4 * 1024;
      body_style.max_hex_bytes = 64;
      body_style.indent = "  ";
      out += "\n" + render_body(delivery.response_body, body_style);
    }
    if (delivery.response_truncated) {
      out += dim("  (response body truncated when it was recorded)", color) + "\n";
    }
  }
  return out;
}

} // namespace rag::core
