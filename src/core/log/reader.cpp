#include "core/log/reader.hpp"

#include "core/log/record_parser.hpp"
#include "core/log/scanner.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace rag::core {

namespace {

// Return true unless `text` certainly is no record (one JSON object): a check that
// costs two bytes, for a read that skips lines unparsed but still names the bad ones.
bool
may_be_record(std::string_view text)
{
  return !text.empty() && text.front() == '{' && text.back() == '}';
}

// Return a line handler that parses every line `raw` lets through and gives the record to
// `fn`; a line that is no record is skipped, named by its line number through `warn`.
LogLineFn
record_lines(const EventLogReader::RecordFn& fn, const EventLogReader::RawFilter& raw, int fd,
             const std::string& path, const EventLogReader::Warn& warn)
{
  return [&fn, &raw, fd, &path, &warn](const LogLine& line) {
    if (raw && !raw(line.text)) {
      return true;
    }
    auto record = parse_record(line.text);
    if (!record) {
      if (warn) {
        // Lines read backwards (or from an offset) carry no number: count it, rarely.
        const auto number =
            line.number != 0 ? line.number : count_newlines_before(fd, line.offset) + 1;
        warn(fmt::format("{}:{}: skipped corrupt line ({})", path, number, record.error().message));
      }
      return true;
    }
    return fn(std::move(record).value(), line);
  };
}

} // namespace

EventLogReader::EventLogReader(std::string path, Warn warn)
    : m_path(std::move(path)), m_warn(std::move(warn))
{}

Result<std::uint64_t>
EventLogReader::for_each_line(const LineFn& fn, std::uint64_t start_offset) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_log_for_reading(m_path));
  if (!log.fd.valid()) {
    return start_offset;
  }
  RAG_TRY_ASSIGN(ForwardScan scan,
                 scan_log_forward(m_path, log.fd.get(), start_offset, log.size, fn));
  return scan.end_offset;
}

Result<LineScan>
EventLogReader::scan_lines(const LineFn& fn) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_log_for_reading(m_path));
  if (!log.fd.valid()) {
    return LineScan{};
  }
  RAG_TRY_ASSIGN(LineScan scan, scan_log_lines(log.fd.get(), m_path, 0, log.size, fn));
  scan.tail_torn = scan.tail_bytes > 0 && confirm_torn_tail(log.fd.get(), log.size);
  return scan;
}

Result<void>
EventLogReader::for_each_line_reverse(const LineFn& fn) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_log_for_reading(m_path));
  if (!log.fd.valid()) {
    return {};
  }
  RAG_TRY(scan_log_reverse(
      m_path, log.fd.get(), log.size, [](const ReverseScan&) {}, fn));
  return {};
}

Result<std::uint64_t>
EventLogReader::for_each_record(const RecordFn& fn, const RawFilter& raw,
                                std::uint64_t start_offset, TornTail torn_tail) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_log_for_reading(m_path));
  if (!log.fd.valid()) {
    return start_offset;
  }
  const int fd = log.fd.get();
  const LogLineFn on_line = record_lines(fn, raw, fd, m_path, m_warn);
  RAG_TRY_ASSIGN(ForwardScan scan, scan_log_forward(m_path, fd, start_offset, log.size, on_line));
  if (!scan.stopped && scan.tail_bytes > 0 && torn_tail == TornTail::warn && m_warn &&
      confirm_torn_tail(fd, log.size)) {
    const auto number = scan.last_number != 0 ? scan.last_number + 1
                                              : count_newlines_before(fd, scan.end_offset) + 1;
    m_warn(fmt::format("{}:{}: skipped torn last line ({} bytes, no newline)", m_path, number,
                       scan.tail_bytes));
  }
  return scan.end_offset;
}

Result<void>
EventLogReader::for_each_record_reverse(const RecordFn& fn, const RawFilter& raw,
                                        TornTail torn_tail) const
{
  RAG_TRY_ASSIGN(OpenLog log, open_log_for_reading(m_path));
  if (!log.fd.valid()) {
    return {};
  }
  const int fd = log.fd.get();
  const auto on_tail = [&](const ReverseScan& scan) {
    if (scan.tail_bytes == 0 || torn_tail != TornTail::warn || !m_warn ||
        !confirm_torn_tail(fd, scan.size)) {
      return;
    }
    m_warn(fmt::format("{}:{}: skipped torn last line ({} bytes, no newline)", m_path,
                       count_newlines_before(fd, scan.tail_offset) + 1, scan.tail_bytes));
  };
  const LogLineFn on_line = record_lines(fn, raw, fd, m_path, m_warn);
  RAG_TRY(scan_log_reverse(m_path, fd, log.size, on_tail, on_line));
  return {};
}

Result<void>
EventLogReader::for_each_event_newest(const EventFilter& filter, const NewestEventsQuery& query,
                                      const std::function<bool(EventWithDeliveries&&)>& fn) const
{
  // The deliveries read (backwards, so before their event) of events not reached yet.
  std::unordered_map<std::string, EventWithDeliveries> pending;
  std::size_t found = 0;
  const auto stopped = [&query] { return query.stopped && query.stopped(); };
  const auto raw = [&](std::string_view line) {
    if (!query.deliveries && raw_is_delivery(line)) {
      return false;
    }
    if (filter.may_match_line(line)) {
      return true;
    }
    // This event is skipped unparsed; its deliveries (read earlier) are not needed.
    if (const auto id = raw_record_id(line); !id.empty() && !pending.empty()) {
      pending.erase(std::string(id));
    }
    return false;
  };
  const auto on_record = [&](Record&& record, const LogLine& line) {
    if (line.offset >= query.end_offset) {
      return true;
    }
    if (query.on_record) {
      query.on_record(record);
    }
    if (auto* delivery = std::get_if<Delivery>(&record)) {
      EventWithDeliveries& entry = pending[delivery->event_id];
      entry.summary.add_older(*delivery);
      if (query.keep_lines) {
        entry.delivery_lines.push_back(KeptLine{line.offset, std::string(line.text)});
      }
      entry.deliveries.push_back(std::move(*delivery));
      return true;
    }
    auto& event = std::get<Event>(record);
    EventWithDeliveries entry;
    if (const auto it = pending.find(event.id); it != pending.end()) {
      entry = std::move(it->second);
      pending.erase(it);
    }
    if (!filter.matches(event, entry.summary)) {
      return !stopped();
    }
    std::reverse(entry.deliveries.begin(), entry.deliveries.end());
    entry.event = std::move(event);
    entry.line = line;
    ++found;
    return fn(std::move(entry)) && (query.limit == 0 || found < query.limit) && !stopped();
  };
  return for_each_record_reverse(on_record, raw);
}

Result<Event>
EventLogReader::find_event(std::string_view prefix) const
{
  std::string_view rest = prefix;
  if (rest.substr(0, 4) == "evt_" || rest.substr(0, 4) == "EVT_") {
    rest.remove_prefix(4);
  }
  // Ids are upper-case Crockford base32; people type them in either case.
  std::string wanted = "evt_";
  for (const char c : rest) {
    wanted.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (rest.empty()) {
    return usage_error("an empty event id matches every event", "type some characters of the id");
  }
  // Looking for the serialised id field in the raw bytes avoids parsing every
  // line; only candidates are parsed, and then checked for real.
  const std::string needle = "\"id\":\"" + wanted;

  // At most k_listed + 1 distinct ids are kept (memory stays constant however
  // short the prefix); further matches are only counted.
  constexpr std::size_t k_listed = 5;
  std::vector<std::string> ids;
  std::size_t matches = 0;
  std::optional<Event> found;
  auto result = for_each_record(
      [&](Record&& record, const LogLine&) {
        auto* event = std::get_if<Event>(&record);
        if (event == nullptr || event->id.compare(0, wanted.size(), wanted) != 0) {
          return true;
        }
        if (std::find(ids.begin(), ids.end(), event->id) == ids.end()) {
          ++matches;
          if (ids.size() <= k_listed) {
            ids.push_back(event->id);
          }
        }
        if (!found) {
          found = std::move(*event);
        }
        return true;
      },
      // A line that certainly is no record is parsed too, only to be reported: this read
      // goes through the whole log, and should name its bad lines as a full scan does.
      [&](std::string_view text) {
        return text.find(needle) != std::string_view::npos || !may_be_record(text);
      });
  if (!result) {
    return result.error();
  }
  if (ids.empty()) {
    return error(fmt::format("no event matches '{}'", prefix), "run `rag inspect` to list events");
  }
  if (ids.size() > 1) {
    std::string list;
    for (std::size_t i = 0; i < ids.size() && i < k_listed; ++i) {
      list += (i == 0 ? "" : ", ") + ids[i];
    }
    if (ids.size() > k_listed) {
      list += fmt::format(", … ({} matches)", matches);
    }
    return error(fmt::format("event id prefix '{}' is ambiguous: {}", prefix, list),
                 "type more characters");
  }
  return std::move(*found);
}

} // namespace rag::core
