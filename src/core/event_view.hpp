#pragma once

#include "core/event_filter.hpp"
#include "core/record.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// Return `text` safe for one terminal line: control bytes, DEL, C1 controls, bidi
// overrides and invalid UTF-8 become visible escapes ("\x1b", "\u202e"), so captured
// data can never move the cursor, recolour or rewrite what the user sees.
std::string terminal_line(std::string_view text);

// As terminal_line, but keeps "\n", "\t" and "\r\n" so multi-line text stays readable.
std::string terminal_text(std::string_view text);

// Return the number of terminal columns `text` (UTF-8, already made safe) takes,
// counting one per code point.
std::size_t display_width(std::string_view text);

// Return `text` cut to at most `width` columns, ending in "…" when it was cut.
std::string fit_width(std::string_view text, std::size_t width);

// Format a time for tables in local time: "HH:MM:SS.mmm", prefixed with
// "YYYY-MM-DD " when it is not on the same local day as `now_us`.
std::string format_table_time(std::int64_t time_us, std::int64_t now_us);

// Return the short label of an outcome: the status code or "ERR".
std::string outcome_label(const TargetOutcome& outcome);

// One row of the event table, every cell already safe for a terminal.
struct TableRow
{
  std::string time;
  std::string id; // short id
  std::string method;
  std::string path; // the raw target, uncut
  std::string size;
  std::vector<TargetOutcome> outcomes;
  int refused = 0; // the status rag refused the request with (STATUS "413 refused"); else 0
  std::string sig; // "-" when there is no verdict
};

// Build the table row of `event` with the latest outcome per target.
TableRow make_table_row(const Event& event, const DeliverySummary& deliveries, std::int64_t now_us);

// Column widths of the event table.
struct TableLayout
{
  std::size_t time = 12;
  std::size_t id = 4;
  std::size_t method = 6;
  std::size_t path = 4;
  std::size_t size = 4;
  std::size_t status = 6;
  bool cut_path = false; // cut longer paths to `path` columns with "…"
};

// Choose column widths that fit `rows` (and the header) into `max_width` columns,
// cutting the PATH column; `max_width` 0 means unlimited (nothing is cut). With
// `grows` (a --follow table) PATH gets every free column for rows still to come.
TableLayout layout_table(const std::vector<TableRow>& rows, std::size_t max_width,
                         bool grows = false);

// Render the header line (no newline).
std::string render_table_header(const TableLayout& layout, bool color);

// Render one row (no newline); statuses are coloured by class when `color`. STATUS says
// "413 refused" first for a request rag refused, then the targets' statuses.
std::string render_table_row(const TableRow& row, const TableLayout& layout, bool color);

// Render a delivery as one line "→ STATUS TARGET DURATION" plus " (attempt N, replay)"
// when it was a retry or a replay, and ": ERROR" for a failed connection.
std::string render_delivery_line(const Delivery& delivery, bool color);

// Return the request line and headers exactly as captured ("METHOD TARGET VERSION\n"
// then "Name: value\n" per header), bytes unchanged: the output of --headers.
std::string format_request_head(const Event& event);

// Return an xxd-style dump of the first `max_bytes` of `bytes`
// ("00000000: 7b22 6122 3a31 7d0a  {"a":1}."), one line per 16 bytes.
std::string hex_dump(std::string_view bytes, std::size_t max_bytes);

// How a body is shown in the detail view.
struct BodyStyle
{
  bool pretty_json = false; // pretty-print JSON objects and arrays
  std::size_t max_text_bytes = 64 * 1024;
  std::size_t max_hex_bytes = 256;
  std::string indent; // prefix of every line
};

// Render a body for people: pretty JSON (when asked and valid), else UTF-8 text made
// terminal-safe, else "binary body, N bytes" and a hex dump; ends with a newline
// unless the body is empty (then the result is empty).
std::string render_body(std::string_view body, const BodyStyle& style);

// How the detail view is shown.
struct DetailStyle
{
  bool color = false;
  bool pretty_json = false;
  std::int64_t now_us = 0;
};

// Render the detail view of an event: request line, metadata (with what rag refused it
// with), headers, body, trailers, then every delivery with its response headers and body
// (bounded) or its error.
std::string render_event_detail(const Event& event, const std::vector<Delivery>& deliveries,
                                const DetailStyle& style);

} // namespace rag::core
