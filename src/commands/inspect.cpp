#include "commands/inspect.hpp"

#include "core/clock.hpp"
#include "core/curl_command.hpp"
#include "core/event_filter.hpp"
#include "core/event_view.hpp"
#include "core/id.hpp"
#include "core/json_line.hpp"
#include "core/log/reader.hpp"
#include "core/log/record_writer.hpp"
#include "engine/stop_signal.hpp"
#include "util/terminal.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <limits>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

namespace rag::commands {

namespace {

constexpr std::size_t k_default_rows = 20;
// Events waiting for a delivery that makes them match --status while following.
constexpr std::size_t k_max_pending = 1000;
constexpr std::chrono::milliseconds k_poll_interval{100};
constexpr std::uint64_t k_no_end = std::numeric_limits<std::uint64_t>::max();

// Writes data through the console and remembers the first failure; a reader that went
// away (EPIPE, e.g. `rag inspect | head`) ends the command quietly.
class Output
{
public:
  explicit Output(engine::Console& console) : m_console(console) {}

  bool write(std::string_view text)
  {
    if (!m_failed && !text.empty() && !m_console.write_out(text)) {
      fail();
    }
    return !m_failed;
  }

  bool line(std::string_view text) { return write(text) && write("\n"); }

  bool flush()
  {
    if (!m_failed && !m_console.flush_out()) {
      fail();
    }
    return !m_failed;
  }

  bool failed() const { return m_failed; }

  // The console the data goes through, for diagnostics and colour.
  engine::Console& console() const { return m_console; }

  // Flush and return the exit code: 0, also after EPIPE; other write errors fail.
  Result<int> finish()
  {
    flush();
    if (m_failed && m_errno != EPIPE) {
      return error(fmt::format("cannot write to stdout: {}", std::strerror(m_errno)));
    }
    return 0;
  }

private:
  void fail()
  {
    m_failed = true;
    m_errno = errno;
  }

  engine::Console& m_console;
  bool m_failed = false;
  int m_errno = 0;
};

std::size_t
terminal_width()
{
  if (::isatty(STDOUT_FILENO) != 1) {
    return 0;
  }
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    const long value = std::strtol(columns, nullptr, 10);
    if (value > 0) {
      return static_cast<std::size_t>(value);
    }
  }
  return 80;
}

core::FilterSpec
filter_spec(const InspectOptions& options)
{
  core::FilterSpec spec;
  spec.since = options.since;
  spec.until = options.until;
  spec.method = options.method;
  spec.path_glob = options.path_glob;
  spec.headers = options.headers;
  spec.grep = options.grep;
  spec.status = options.status;
  return spec;
}

Result<void>
check_combinations(const InspectOptions& options)
{
  const int outputs = int(options.body) + int(options.show_headers) + int(options.curl);
  if (outputs > 1) {
    return usage_error("--body, --headers and --curl cannot be combined", "pick one");
  }
  if (!options.verify.empty() && outputs == 1) {
    return usage_error("--verify cannot be combined with --body, --headers or --curl", "pick one");
  }
  if (outputs == 1 && options.json) {
    return usage_error("--json cannot be combined with --body, --headers or --curl", "pick one");
  }
  if (options.follow && (outputs == 1 || !options.id.empty() || !options.verify.empty())) {
    return usage_error("--follow lists new events; it cannot show a single event",
                       "drop --follow, or the ID and --body/--headers/--curl/--verify");
  }
  if (options.last < 0) {
    return usage_error("--last must be a positive number", "e.g. --last 50");
  }
  const bool filters = options.last != 0 || !options.since.empty() || !options.until.empty() ||
                       !options.method.empty() || !options.path_glob.empty() ||
                       !options.headers.empty() || !options.grep.empty() || !options.status.empty();
  if (!options.id.empty() && filters) {
    return usage_error("an event ID cannot be combined with --last or filters",
                       "drop the ID to filter the list, or drop the filters");
  }
  return {};
}

// What one event's deliveries say: the latest outcome per target, and where each
// target's attempts started (its STATUS column).
struct EventDeliveries
{
  core::DeliverySummary summary;
  std::vector<TargetStart> starts;
};

// The newest events that match, with what is known about their deliveries.
struct Selection
{
  std::vector<core::Event> events; // newest first
  std::unordered_map<std::string, EventDeliveries> deliveries;
  std::unordered_set<std::string> delivery_ids; // every delivery read (for --follow)
  std::string newest_event_id;                  // greatest event id read
};

// Collect up to `limit` (0: all) matching events, newest first, from lines that start
// before `end_offset`, with what their deliveries say.
Result<Selection>
select_newest(const core::EventLogReader& reader, const core::EventFilter& filter,
              std::size_t limit, std::uint64_t end_offset, bool keep_delivery_ids)
{
  Selection selection;
  core::NewestEventsQuery query;
  query.limit = limit;
  query.end_offset = end_offset;
  query.on_record = [&](const core::Record& record) {
    if (const auto* delivery = std::get_if<core::Delivery>(&record)) {
      if (keep_delivery_ids) {
        selection.delivery_ids.insert(delivery->id);
      }
      return;
    }
    selection.newest_event_id =
        std::max(selection.newest_event_id, std::get<core::Event>(record).id);
  };
  RAG_TRY(reader.for_each_event_newest(filter, query, [&](core::EventWithDeliveries&& found) {
    EventDeliveries deliveries;
    deliveries.summary = std::move(found.summary);
    // Newest first, the order they were read in: ties between targets keep that order.
    for (auto it = found.deliveries.rbegin(); it != found.deliveries.rend(); ++it) {
      note_target_start(deliveries.starts, *it);
    }
    selection.deliveries[found.event.id] = std::move(deliveries);
    selection.events.push_back(std::move(found.event));
    return true;
  }));
  return selection;
}

// Return every delivery of `event_id`, oldest first, reading backwards from the end of
// the log until the event itself. Called after find_event, whose read of the whole log
// warned about a torn last line already: this read does not warn again.
Result<std::vector<core::Delivery>>
deliveries_of(const core::EventLogReader& reader, const std::string& event_id)
{
  std::vector<core::Delivery> deliveries;
  const auto raw = [&](std::string_view line) {
    return line.find(event_id) != std::string_view::npos;
  };
  const auto on_record = [&](core::Record&& record, const core::LogLine&) {
    if (auto* delivery = std::get_if<core::Delivery>(&record)) {
      if (delivery->event_id == event_id) {
        deliveries.push_back(std::move(*delivery));
      }
      return true;
    }
    return std::get<core::Event>(record).id != event_id;
  };
  RAG_TRY(reader.for_each_record_reverse(on_record, raw, core::TornTail::ignore));
  std::reverse(deliveries.begin(), deliveries.end());
  return deliveries;
}

// Return the offset just past the last complete line: where --follow starts reading.
Result<std::uint64_t>
end_of_complete_lines(const core::EventLogReader& reader)
{
  std::uint64_t end = 0;
  RAG_TRY(reader.for_each_line_reverse([&](const core::LogLine& line) {
    end = line.offset + line.text.size() + 1;
    return false;
  }));
  return end;
}

bool
log_is_empty(const std::string& path)
{
  struct stat st
  {};
  return ::stat(path.c_str(), &st) != 0 || st.st_size == 0;
}

std::string
nothing_found(const InspectOptions& options, const core::EventFilter& filter)
{
  if (filter.empty() || log_is_empty(options.log_path)) {
    return fmt::format("no events in {} yet; start `rag listen` and send one", options.log_path);
  }
  return "no events match";
}

// Check the event's stored headers and exact body bytes against each --verify spec at
// the current time: one line (or JSON object) per spec; exit 1 unless all are valid.
Result<int>
verify_event(const core::Event& event, const InspectOptions& options, Output& out)
{
  const auto now = core::SystemClock().now_us();
  bool all_valid = true;
  for (const auto& spec : options.verify) {
    const core::Verdict verdict = core::verify(spec, event.headers, event.body, now);
    all_valid = all_valid && verdict.is_valid();
    // verify() checks the signature before the timestamp, so a stale verdict means
    // the signature itself matched: worth saying, since --resign then fixes a replay.
    const bool stale = verdict.reason == "timestamp outside tolerance";
    if (options.json) {
      out.line(core::JsonLine()
                   .text("provider", core::spec_label(spec))
                   .text("verdict", verdict.text())
                   .boolean("signature_matches", verdict.is_valid() || stale)
                   .str());
    } else {
      out.line(fmt::format("{}: {}{}", core::spec_label(spec), verdict.text(),
                           stale ? " (the signature matches; only the timestamp is stale)" : ""));
    }
  }
  RAG_TRY_ASSIGN(const int code, out.finish());
  return all_valid ? code : 1;
}

// Print one event as --body, --headers, --curl, --json or the detail view.
Result<int>
show_event(const core::EventLogReader& reader, const core::Event& event,
           const InspectOptions& options, Output& out)
{
  if (!options.verify.empty()) {
    return verify_event(event, options, out);
  }
  if (options.body) {
    out.write(event.body);
  } else if (options.show_headers) {
    out.write(core::format_request_head(event));
  } else if (options.curl) {
    // Only a tunnel event's deliveries can say where to send it (core::resend_target).
    std::vector<core::Delivery> deliveries;
    if (event.source.starts_with("tunnel:")) {
      RAG_TRY_ASSIGN(deliveries, deliveries_of(reader, event.id));
    }
    out.write(core::curl_command(event, deliveries));
  } else {
    RAG_TRY_ASSIGN(const auto deliveries, deliveries_of(reader, event.id));
    if (options.json) {
      out.line(core::to_json_line(event));
      for (const auto& delivery : deliveries) {
        out.line(core::to_json_line(delivery));
      }
    } else {
      core::DetailStyle style;
      style.color = out.console().out_color();
      style.pretty_json = ::isatty(STDOUT_FILENO) == 1;
      style.now_us = core::SystemClock().now_us();
      out.write(core::render_event_detail(event, deliveries, style));
    }
  }
  return out.finish();
}

// Prints events and deliveries appended to the log after the initial listing.
class Follower
{
public:
  Follower(const InspectOptions& options, const core::EventLogReader& reader,
           const core::EventFilter& filter, Output& out, core::TableLayout layout,
           StatusColumns& columns)
      : m_options(options), m_reader(reader), m_filter(filter), m_out(out), m_layout(layout),
        m_columns(columns), m_color(out.console().out_color())
  {}

  // Remember what the initial listing showed, so that it is never shown twice.
  void seed(const Selection& selection)
  {
    for (const auto& event : selection.events) {
      m_shown.insert(event.id);
    }
    m_seen_deliveries = selection.delivery_ids;
    m_watermark = selection.newest_event_id;
  }

  // Poll the log from `offset` until `stop` is requested (Ctrl-C).
  Result<int> run(std::uint64_t offset, const engine::Stop& stop)
  {
    m_offset = offset;
    struct stat st
    {};
    if (::stat(m_options.log_path.c_str(), &st) == 0) {
      m_inode = st.st_ino;
    }
    while (!m_out.failed()) {
      poll();
      if (!m_out.flush()) {
        break;
      }
      if (stop.wait_for(k_poll_interval)) {
        break;
      }
    }
    return m_out.finish();
  }

private:
  struct Pending
  {
    core::Event event;
    core::DeliverySummary summary;
    std::vector<core::Delivery> deliveries;
  };

  void poll()
  {
    struct stat st
    {};
    if (::stat(m_options.log_path.c_str(), &st) != 0) {
      // The log may not exist yet, or is being replaced; wait for it.
      m_offset = 0;
      return;
    }
    // A prune rewrites the log into a new, shorter file: read it again from the
    // start, skipping what was shown already.
    if (st.st_ino != m_inode || static_cast<std::uint64_t>(st.st_size) < m_offset) {
      m_offset = 0;
      m_restarted = true;
    }
    m_inode = st.st_ino;
    if (static_cast<std::uint64_t>(st.st_size) <= m_offset) {
      return;
    }
    const auto raw = [this](std::string_view line) { return m_filter.may_match_line(line); };
    const auto on_record = [this](core::Record&& record, const core::LogLine&) {
      if (auto* delivery = std::get_if<core::Delivery>(&record)) {
        on_delivery(std::move(*delivery));
      } else {
        on_event(std::move(std::get<core::Event>(record)));
      }
      return !m_out.failed();
    };
    auto offset = m_reader.for_each_record(on_record, raw, m_offset, core::TornTail::ignore);
    if (!offset) {
      if (offset.error().message != m_last_error) {
        m_last_error = offset.error().message;
        m_out.console().warning(m_last_error);
      }
      return;
    }
    m_offset = *offset;
    m_restarted = false;
  }

  void on_event(core::Event&& event)
  {
    if (m_shown.count(event.id) != 0 || (m_restarted && event.id <= m_watermark)) {
      return;
    }
    m_watermark = std::max(m_watermark, event.id);
    if (!m_filter.matches_event(event)) {
      return;
    }
    // A refused event gets no deliveries: --status judges what its sender was answered.
    if (!m_filter.has_status() ||
        m_filter.matches_status({}, core::EventFilter::refused_status(event))) {
      show(event, core::DeliverySummary{}, {});
      return;
    }
    // No delivery exists yet; the event is shown once one makes it match.
    const std::string id = event.id;
    m_pending.emplace(id, Pending{std::move(event), {}, {}});
    m_pending_order.push_back(id);
    if (m_pending_order.size() > k_max_pending) {
      m_pending.erase(m_pending_order.front());
      m_pending_order.pop_front();
    }
  }

  void on_delivery(core::Delivery&& delivery)
  {
    if (!m_seen_deliveries.insert(delivery.id).second) {
      return;
    }
    if (m_shown.count(delivery.event_id) != 0) {
      show_delivery(delivery);
      return;
    }
    const auto it = m_pending.find(delivery.event_id);
    if (it == m_pending.end()) {
      return;
    }
    it->second.summary.add_newer(delivery);
    it->second.deliveries.push_back(std::move(delivery));
    if (!m_filter.matches_status(it->second.summary,
                                 core::EventFilter::refused_status(it->second.event))) {
      return;
    }
    Pending pending = std::move(it->second);
    m_pending.erase(it);
    std::vector<TargetStart> starts;
    for (const auto& shown : pending.deliveries) {
      note_target_start(starts, shown);
    }
    show(pending.event, pending.summary, starts);
    if (m_options.json) {
      for (const auto& shown : pending.deliveries) {
        show_delivery(shown);
      }
    }
  }

  void show(const core::Event& event, const core::DeliverySummary& summary,
            const std::vector<TargetStart>& starts)
  {
    m_shown.insert(event.id);
    if (m_options.json) {
      m_out.line(core::to_json_line(event));
      return;
    }
    const auto now = core::SystemClock().now_us();
    core::TableRow row = core::make_table_row(event, summary, now);
    m_columns.arrange(event, starts, row.outcomes);
    m_out.line(core::render_table_row(row, m_layout, m_color));
  }

  void show_delivery(const core::Delivery& delivery)
  {
    if (m_options.json) {
      m_out.line(core::to_json_line(delivery));
      return;
    }
    m_out.line(fmt::format("  {} {}", core::render_delivery_line(delivery, m_color),
                           util::colorize(fmt::format("[{}]", core::short_id(delivery.event_id)),
                                          util::Color::gray, m_color)));
  }

  const InspectOptions& m_options;
  const core::EventLogReader& m_reader;
  const core::EventFilter& m_filter;
  Output& m_out;
  core::TableLayout m_layout;
  StatusColumns& m_columns;
  bool m_color;
  std::uint64_t m_offset = 0;
  ino_t m_inode = 0;
  bool m_restarted = false;
  std::string m_watermark;
  std::string m_last_error;
  std::unordered_set<std::string> m_shown;
  std::unordered_set<std::string> m_seen_deliveries;
  std::unordered_map<std::string, Pending> m_pending;
  std::deque<std::string> m_pending_order;
};

// The table or JSON listing, then --follow.
Result<int>
list_events(const InspectOptions& options, const core::EventLogReader& reader,
            const core::EventFilter& filter, Output& out, const engine::Stop& stop)
{
  std::size_t limit = k_default_rows;
  if (options.last > 0) {
    limit = static_cast<std::size_t>(options.last);
  } else if (filter.has_time_range()) {
    limit = 0;
  }
  std::uint64_t end_offset = k_no_end;
  if (options.follow) {
    RAG_TRY_ASSIGN(end_offset, end_of_complete_lines(reader));
  }
  const bool table = !options.json;
  RAG_TRY_ASSIGN(Selection selection,
                 select_newest(reader, filter, limit, end_offset, options.follow));
  const auto& events = selection.events;

  core::TableLayout layout;
  StatusColumns columns;
  if (table) {
    const auto now = core::SystemClock().now_us();
    std::vector<core::TableRow> rows;
    rows.reserve(events.size());
    // Oldest first, so the oldest row shown decides the order of the STATUS column.
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      const EventDeliveries& deliveries = selection.deliveries[it->id];
      rows.push_back(core::make_table_row(*it, deliveries.summary, now));
      columns.arrange(*it, deliveries.starts, rows.back().outcomes);
    }
    const bool color = out.console().out_color();
    layout = core::layout_table(rows, terminal_width(), options.follow);
    if (const std::string legend = columns.legend(); !legend.empty()) {
      out.line(util::colorize(legend, util::Color::gray, color));
    }
    if (!rows.empty() || options.follow) {
      out.line(core::render_table_header(layout, color));
    }
    for (const auto& row : rows) {
      out.line(core::render_table_row(row, layout, color));
    }
  } else {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      out.line(core::to_json_line(*it));
    }
  }

  if (!options.follow) {
    if (events.empty()) {
      out.console().err("rag: " + nothing_found(options, filter));
    }
    return out.finish();
  }
  if (!out.flush()) {
    return out.finish();
  }
  if (::isatty(STDERR_FILENO) == 1) {
    out.console().err(fmt::format("rag: following {} (Ctrl-C to stop)", options.log_path));
  }
  Follower follower(options, reader, filter, out, layout, columns);
  follower.seed(selection);
  return follower.run(end_offset, stop);
}

} // namespace

void
note_target_start(std::vector<TargetStart>& starts, const core::Delivery& delivery)
{
  const bool original = !delivery.replay;
  for (auto& start : starts) {
    if (start.url != delivery.target) {
      continue;
    }
    // An original attempt places the target before any replay does.
    if ((original && !start.original) ||
        (original == start.original && delivery.time_us < start.start_us)) {
      start.original = original;
      start.start_us = delivery.time_us;
    }
    return;
  }
  starts.push_back(TargetStart{delivery.target, original, delivery.time_us});
}

namespace {

// Return the name of the STATUS column of a delivery to `url` for an event whose request
// target is `event_target`: the URL's origin when the event's own path (and query) went
// there, maybe without a route prefix; else origin and path, without the query (which
// is the event's).
std::string
column_name(std::string_view url, std::string_view event_target)
{
  const std::size_t scheme = url.find("://");
  const std::size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  const std::size_t rest_at = std::min(url.find_first_of("/?#", authority), url.size());
  const std::string_view origin = url.substr(0, rest_at);
  const std::string_view rest = url.substr(rest_at);
  if (rest.empty() || event_target.ends_with(rest)) {
    return std::string(origin);
  }
  return std::string(origin) + std::string(rest.substr(0, rest.find_first_of("?#")));
}

} // namespace

void
StatusColumns::arrange(const core::Event& event, const std::vector<TargetStart>& starts,
                       std::vector<core::TargetOutcome>& outcomes)
{
  if (outcomes.empty()) {
    return; // "-": nothing to place, and nothing it could be mistaken for
  }
  // This event's own order: original targets by the start of their first attempt, then
  // those only replays went to; new targets get their columns in that order.
  std::vector<const TargetStart*> order;
  for (const auto& start : starts) {
    order.push_back(&start);
  }
  std::stable_sort(order.begin(), order.end(), [](const TargetStart* a, const TargetStart* b) {
    if (a->original != b->original) {
      return a->original;
    }
    return a->start_us < b->start_us;
  });
  const std::size_t known = m_columns.size();
  const auto rank = [&](const core::TargetOutcome& outcome) {
    std::size_t own = order.size(); // a target without a start record goes last
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (order[i]->url == outcome.target) {
        own = i;
      }
    }
    return own;
  };
  std::vector<std::pair<std::size_t, std::size_t>> keys; // (own rank, outcome index)
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    keys.emplace_back(rank(outcomes[i]), i);
  }
  std::stable_sort(keys.begin(), keys.end());
  std::vector<std::pair<std::size_t, std::size_t>> placed; // (column, own position)
  std::vector<std::string> names;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string name = column_name(outcomes[keys[i].second].target, event.target);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
    placed.emplace_back(column_of(name), i);
  }
  std::stable_sort(placed.begin(), placed.end());
  std::vector<core::TargetOutcome> arranged;
  arranged.reserve(outcomes.size());
  for (const auto& [column, position] : placed) {
    arranged.push_back(std::move(outcomes[keys[position].second]));
  }
  outcomes = std::move(arranged);

  if ((m_rows > 0 && m_columns.size() > known) || names.size() != m_columns.size() ||
      names.size() != outcomes.size()) {
    m_same_targets = false;
  }
  ++m_rows;
}

std::string
StatusColumns::legend() const
{
  if (!m_same_targets || m_columns.size() < 2) {
    return {};
  }
  std::string names;
  for (const auto& name : m_columns) {
    names += (names.empty() ? "" : ", ") + core::terminal_line(name);
  }
  return "STATUS is per target, in this order: " + names;
}

std::size_t
StatusColumns::column_of(const std::string& name)
{
  const auto it = std::find(m_columns.begin(), m_columns.end(), name);
  if (it != m_columns.end()) {
    return static_cast<std::size_t>(it - m_columns.begin());
  }
  m_columns.push_back(name);
  return m_columns.size() - 1;
}

Result<int>
run_inspect(const InspectOptions& options, engine::Console& console)
{
  RAG_TRY(check_combinations(options));
  RAG_TRY_ASSIGN(const core::EventFilter filter,
                 core::EventFilter::parse(filter_spec(options), core::SystemClock().now_us()));

  // Writes to a closed pipe must come back as EPIPE (a quiet end), not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  engine::Stop no_stop;
  std::optional<engine::StopSignal> signals;
  if (options.follow) {
    // Ctrl-C at any moment ends the follow loop cleanly with 0.
    signals.emplace();
  }

  const core::EventLogReader reader(
      options.log_path, [&console](const std::string& message) { console.warning(message); });
  Output out(console);
  if (!options.id.empty()) {
    RAG_TRY_ASSIGN(const core::Event event, reader.find_event(options.id));
    return show_event(reader, event, options, out);
  }
  if (options.body || options.show_headers || options.curl || !options.verify.empty()) {
    RAG_TRY_ASSIGN(Selection selection, select_newest(reader, filter, 1, k_no_end, false));
    if (selection.events.empty()) {
      return error(nothing_found(options, filter), "run `rag inspect` to list events");
    }
    return show_event(reader, selection.events.front(), options, out);
  }
  return list_events(options, reader, filter, out, signals ? signals->stop() : no_stop);
}

} // namespace rag::commands
