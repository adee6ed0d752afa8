#include "commands/import.hpp"

#include "core/clock.hpp"
#include "core/har.hpp"
#include "core/id.hpp"
#include "core/log/record_parser.hpp"
#include "core/log/record_writer.hpp"
#include "core/log/writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <unordered_map>

#include <fmt/core.h>

namespace rag::commands {

namespace {

// Warnings past this many are counted, not printed: a file of the wrong kind would
// otherwise print one line per line. A few show what is wrong; the count says how much.
constexpr std::size_t k_max_warnings = 3;

// Makes ids whose time part is the record's own time. RandomIdSource never goes
// back in time (it is made for live capture), so an older record than the last one
// gets a fresh source; the random part keeps ids unique.
class IdMaker
{
public:
  std::string next(std::string_view prefix, std::int64_t time_us)
  {
    if (!m_source || time_us < m_last_us) {
      m_source = std::make_unique<core::RandomIdSource>();
    }
    m_last_us = time_us;
    return m_source->next(prefix, time_us);
  }

private:
  std::unique_ptr<core::RandomIdSource> m_source;
  std::int64_t m_last_us = std::numeric_limits<std::int64_t>::min();
};

// Counts what was imported and skipped, and prints warnings up to a limit.
class Tally
{
public:
  Tally(std::string file, engine::Console& console) : m_file(std::move(file)), m_console(console) {}

  void skip(const std::string& reason)
  {
    ++m_skipped;
    if (m_skipped <= k_max_warnings) {
      m_console.warning(fmt::format("{}: {}; skipped", m_file, reason));
    }
  }

  void finish_warnings() const
  {
    if (m_skipped > k_max_warnings) {
      m_console.warning(fmt::format("{}: {} more skipped, {} in all (not shown)", m_file,
                                    m_skipped - k_max_warnings, m_skipped));
    }
  }

  std::size_t events = 0;
  std::size_t deliveries = 0;
  std::size_t skipped() const { return m_skipped; }

private:
  std::string m_file;
  engine::Console& m_console;
  std::size_t m_skipped = 0;
};

// Appends records to the log and echoes them with --json.
class Appender
{
public:
  Appender(core::EventLogWriter& writer, bool json, engine::Console& console)
      : m_writer(writer), m_json(json), m_console(console)
  {}

  Result<void> append(const std::string& line)
  {
    RAG_TRY(m_writer.append(line));
    if (m_json) {
      m_console.out(line);
    }
    return {};
  }

private:
  core::EventLogWriter& m_writer;
  bool m_json;
  engine::Console& m_console;
};

Result<std::string>
read_all(const std::string& path)
{
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return error(fmt::format("cannot open {}: {}", path, std::strerror(errno)),
                 "give a .har or .jsonl file, e.g. one written by `rag export`");
  }
  std::string data;
  char buffer[65536];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    data.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int err = errno;
  if (file != stdin) {
    std::fclose(file);
  }
  if (failed) {
    return error(fmt::format("cannot read {}: {}", path, std::strerror(err)));
  }
  return data;
}

std::string
source_name(const std::string& path)
{
  if (path == "-") {
    return "import:-";
  }
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  return "import:" + (ec ? path : absolute.lexically_normal().string());
}

Result<void>
import_har(std::string_view text, const std::string& source, Appender& out, Tally& tally)
{
  RAG_TRY_ASSIGN(core::HarImport har, core::parse_har(text));
  for (const auto& reason : har.skipped) {
    tally.skip(reason);
  }
  IdMaker ids;
  core::SystemClock clock;
  for (auto& request : har.requests) {
    core::Event& event = request.event;
    if (!request.has_time) {
      event.time_us = clock.now_us();
    }
    event.id = ids.next("evt", event.time_us);
    event.source = source;
    RAG_TRY(out.append(core::to_json_line(event)));
    ++tally.events;
  }
  return {};
}

Result<void>
import_jsonl(std::string_view text, const std::string& source, Appender& out, Tally& tally)
{
  IdMaker event_ids;
  IdMaker delivery_ids;
  std::unordered_map<std::string, std::string> new_id; // old event id -> new one
  std::size_t number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (line.ends_with("\r")) {
      line.remove_suffix(1);
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      continue;
    }
    auto record = core::parse_record(line);
    if (!record) {
      tally.skip(fmt::format("line {}: {}", number, record.error().message));
      continue;
    }
    if (auto* event = std::get_if<core::Event>(&*record)) {
      std::string id = event_ids.next("evt", event->time_us);
      new_id[event->id] = id;
      event->id = std::move(id);
      event->source = source;
      RAG_TRY(out.append(core::to_json_line(*event)));
      ++tally.events;
      continue;
    }
    auto& delivery = std::get<core::Delivery>(*record);
    const auto it = new_id.find(delivery.event_id);
    if (it == new_id.end()) {
      tally.skip(fmt::format("line {}: delivery {} is for event {}, which is not earlier in the "
                             "file",
                             number, core::json_escape(delivery.id),
                             core::json_escape(delivery.event_id)));
      continue;
    }
    delivery.id = delivery_ids.next("dlv", delivery.time_us);
    delivery.event_id = it->second;
    RAG_TRY(out.append(core::to_json_line(delivery)));
    ++tally.deliveries;
  }
  return {};
}

} // namespace

Result<int>
run_import(const ImportOptions& options, engine::Console& console)
{
  RAG_TRY_ASSIGN(const std::string text, read_all(options.file));
  const std::string shown = options.file == "-" ? std::string("stdin") : options.file;
  const bool har = core::looks_like_har(text);

  RAG_TRY_ASSIGN(
      core::EventLogWriter writer,
      core::EventLogWriter::open(
          options.log_path, [&console](const std::string& message) { console.warning(message); }));
  Appender out(writer, options.json, console);
  Tally tally(shown, console);
  const std::string source = source_name(options.file);
  Result<void> imported =
      har ? import_har(text, source, out, tally) : import_jsonl(text, source, out, tally);
  tally.finish_warnings();
  if (!imported) {
    Error err = imported.error();
    err.message = fmt::format("{}: {}", shown, err.message);
    if (tally.events > 0) {
      err.message += fmt::format(" ({} event{} imported before that)", tally.events,
                                 tally.events == 1 ? "" : "s");
    }
    return err;
  }

  std::string what = fmt::format("{} event{}", tally.events, tally.events == 1 ? "" : "s");
  if (tally.deliveries > 0) {
    what += fmt::format(" and {} deliver{}", tally.deliveries, tally.deliveries == 1 ? "y" : "ies");
  }
  const std::string skipped =
      tally.skipped() > 0 ? fmt::format(", {} skipped", tally.skipped()) : std::string();
  if (tally.events == 0 && tally.deliveries == 0) {
    if (tally.skipped() == 0) {
      return error(fmt::format("nothing imported from {}: it holds no {}", shown,
                               har ? "HAR entries" : "records"),
                   "give a HAR file or rag JSON Lines (from `rag export`) with events in it");
    }
    return error(fmt::format("nothing imported from {} ({} skipped)", shown, tally.skipped()),
                 har ? "see the warnings above"
                     : "give a HAR file or rag JSON Lines (from `rag export`)");
  }
  console.err(fmt::format("rag: imported {} from {} ({}{}) into {}", what, shown,
                          har ? "HAR" : "JSON Lines", skipped, options.log_path));
  return 0;
}

} // namespace rag::commands
