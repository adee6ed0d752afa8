#pragma once

// The log reader: lines and records of the log in file order or newest first, bad lines
// skipped with a warning, and the queries the commands share.

#include "core/event_filter.hpp"
#include "core/log/scanner.hpp"
#include "core/record.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace rag::core {

// What a record reader does about a last line that has no '\n'.
enum class TornTail {
  // Skip it with one warning "FILE:LINE: skipped torn last line (N bytes, no
  // newline)", but only after confirming under a shared flock that no writer is
  // in the middle of writing it (so a live log never gives a false warning).
  warn,
  // Skip it silently: for a follower that polls a growing log and would otherwise
  // repeat the warning on every poll; it resumes from the returned offset.
  ignore,
};

// A line of the log kept verbatim, with where it was.
struct KeptLine
{
  std::uint64_t offset = 0;
  std::string text;
};

// What EventLogReader::for_each_event_newest reads and keeps.
struct NewestEventsQuery
{
  // Stop after this many matching events (0: all of them).
  std::size_t limit = 0;
  // Ignore the records of lines that start here or later (--follow shows those).
  std::uint64_t end_offset = std::numeric_limits<std::uint64_t>::max();
  // False: delivery lines are skipped unparsed (the events come without deliveries).
  bool deliveries = true;
  // Keep the raw text of each delivery line too (an export that copies lines verbatim).
  bool keep_lines = false;
  // When set, sees every record read before end_offset, whether its event matches or
  // not (events the filter rejects on their raw bytes are not read).
  std::function<void(const Record&)> on_record;
  // When set, polled after each event read: true ends the read (Ctrl-C).
  std::function<bool()> stopped;
};

// One event found by for_each_event_newest, with its deliveries.
struct EventWithDeliveries
{
  Event event;
  LogLine line;                         // the event's line; `text` valid during the call
  DeliverySummary summary;              // the latest outcome per target
  std::vector<Delivery> deliveries;     // oldest first
  std::vector<KeptLine> delivery_lines; // with keep_lines: their lines, newest first
};

// Reads the event log. Bad lines (corrupt, unknown kind, unsupported version) are
// skipped and reported once each through `warn` as "FILE:LINE: skipped corrupt line
// (REASON)"; a torn last line as described at TornTail. Readers take no lock except
// for that torn-tail check, so they never slow down writers.
class EventLogReader
{
public:
  using Warn = std::function<void(const std::string&)>;
  // Return true to keep reading, false to stop.
  using LineFn = LogLineFn;
  using RecordFn = std::function<bool(Record&&, const LogLine&)>;
  // Cheap test on the raw bytes of a line before it is parsed; false skips it.
  using RawFilter = std::function<bool(std::string_view)>;

  explicit EventLogReader(std::string path, Warn warn = {});

  // Call `fn` for every complete line from `start_offset` (a line start) up to the
  // file size seen when the call began, in file order; a last line without '\n'
  // is not delivered and never warned about. Return the offset just past the last
  // delivered line (where a follower resumes; when `fn` stops early, just past the
  // line it stopped on). A missing file reads as empty. The `text` of a LogLine
  // is valid only during the call.
  Result<std::uint64_t> for_each_line(const LineFn& fn, std::uint64_t start_offset = 0) const;

  // Call `fn` for every complete line in file order, numbered from 1, up to the file size
  // seen when the call began, and report what follows the last complete line, confirming a
  // torn line as TornTail::warn does (without warning). `fn` returning false stops the scan.
  Result<LineScan> scan_lines(const LineFn& fn) const;

  // Call `fn` for every complete line from the end of the file backwards,
  // reading the file in blocks from its end (cost independent of file size);
  // a trailing partial line is skipped silently.
  Result<void> for_each_line_reverse(const LineFn& fn) const;

  // Parse lines in file order; lines rejected by `raw` are not parsed, bad lines
  // are skipped with a warning. Return the offset past the last complete line.
  Result<std::uint64_t> for_each_record(const RecordFn& fn, const RawFilter& raw = {},
                                        std::uint64_t start_offset = 0,
                                        TornTail torn_tail = TornTail::warn) const;

  // As for_each_record, newest first, reading from the end.
  Result<void> for_each_record_reverse(const RecordFn& fn, const RawFilter& raw = {},
                                       TornTail torn_tail = TornTail::warn) const;

  // Call `fn` with the newest events that `filter` accepts (--status judged on their
  // deliveries), newest first, each with every delivery that follows it in the log,
  // until `query.limit` or `fn` returns false. Reads backwards from the end, so the cost
  // follows what is shown, not the size of the log: deliveries are newer than their event,
  // so they have all been read when it is. Event lines the filter rejects on their raw
  // bytes are not parsed; bad lines are warned about as for_each_record_reverse does.
  Result<void> for_each_event_newest(const EventFilter& filter, const NewestEventsQuery& query,
                                     const std::function<bool(EventWithDeliveries&&)>& fn) const;

  // Find the event whose id starts with `prefix` ("evt_" optional, case-insensitive);
  // no match or several matches (up to 5 listed in the message) is an Error.
  Result<Event> find_event(std::string_view prefix) const;

  const std::string& path() const { return m_path; }

private:
  std::string m_path;
  Warn m_warn;
};

} // namespace rag::core
