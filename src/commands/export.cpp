#include "commands/export.hpp"

#include "core/clock.hpp"
#include "core/curl_command.hpp"
#include "core/event_view.hpp"
#include "core/har.hpp"
#include "core/log/reader.hpp"
#include "core/log/record_time.hpp"
#include "engine/stop_signal.hpp"
#include "util/file.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>

#include <fmt/core.h>

#include <optional>

namespace rag::commands {

namespace {

// A matching event with what the chosen format needs of its deliveries.
struct Selected
{
  core::Event event;
  std::vector<core::Delivery> deliveries; // har and curl: oldest first
  std::vector<core::KeptLine> lines;      // jsonl: the event line and its delivery lines
};

// Collect up to `limit` (0: all) matching events, oldest first.
Result<std::vector<Selected>>
select_events(const core::EventLogReader& reader, const core::EventFilter& filter,
              std::size_t limit, ExportFormat format)
{
  std::vector<Selected> selected;
  core::NewestEventsQuery query;
  query.limit = limit;
  query.keep_lines = format == ExportFormat::jsonl;
  RAG_TRY(reader.for_each_event_newest(filter, query, [&](core::EventWithDeliveries&& found) {
    Selected chosen;
    if (format == ExportFormat::jsonl) {
      chosen.lines = std::move(found.delivery_lines);
      chosen.lines.push_back(core::KeptLine{found.line.offset, std::string(found.line.text)});
    } else {
      chosen.event = std::move(found.event);
      // HAR takes the response from them; curl, a tunnel event's destination.
      if (format == ExportFormat::har || format == ExportFormat::curl) {
        chosen.deliveries = std::move(found.deliveries);
      }
    }
    selected.push_back(std::move(chosen));
    return true;
  }));
  std::reverse(selected.begin(), selected.end());
  return selected;
}

// Leave out of a curl script the requests rag refused before they were whole: their
// body is not in the log, so a command would send something else. Each is named.
void
drop_unsendable(std::vector<Selected>& selected, engine::Console& console)
{
  const auto unsendable = [&](const Selected& chosen) {
    const auto& rejected = chosen.event.rejected;
    if (!rejected || !rejected->body_dropped) {
      return false;
    }
    console.warning(fmt::format("{} left out: rag refused it with {} ({}) and did not record "
                                "its body",
                                core::terminal_line(chosen.event.id), rejected->status,
                                core::terminal_line(rejected->reason)));
    return true;
  };
  selected.erase(std::remove_if(selected.begin(), selected.end(), unsendable), selected.end());
}

// Where the export goes: the console's data stream, or a temp file beside `path` that
// replaces it only once everything was written (so a failed export never leaves half a
// file).
class Sink
{
public:
  // A sink writing to `console` (standard output).
  static Sink to(engine::Console& console)
  {
    Sink sink;
    sink.m_console = &console;
    return sink;
  }

  // A sink writing to the file `path` (mode `mode`).
  static Result<Sink> open(const std::string& path, mode_t mode)
  {
    auto temp = util::TempFile::create_beside(path, "tmp");
    if (!temp) {
      return error(fmt::format("cannot write {}: {}", path, temp.error().message),
                   "check that its directory exists and is writable");
    }
    Sink sink;
    sink.m_path = path;
    sink.m_mode = mode;
    sink.m_temp.emplace(std::move(*temp));
    return sink;
  }

  Sink(Sink&& other) noexcept = default;
  Sink& operator=(Sink&&) = delete;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  // A temp file not renamed into place is removed (util::TempFile).
  ~Sink() = default;

  bool write(std::string_view text)
  {
    if (m_failed) {
      return false;
    }
    if (m_console != nullptr) {
      if (!m_console->write_out(text)) {
        fail(errno);
      }
      return !m_failed;
    }
    m_buffer.append(text);
    if (m_buffer.size() >= k_buffer_size) {
      flush_buffer();
    }
    return !m_failed;
  }

  // Finish: flush stdout (EPIPE is a quiet end, `rag export | head`), or flush,
  // sync and rename the temp file over the destination.
  Result<void> commit()
  {
    if (m_console != nullptr) {
      if (!m_failed && !m_console->flush_out()) {
        fail(errno);
      }
      if (m_failed && m_errno != EPIPE) {
        return error(fmt::format("cannot write to stdout: {}", std::strerror(m_errno)));
      }
      return {};
    }
    flush_buffer();
    if (!m_failed && ::fchmod(m_temp->fd(), m_mode) != 0) {
      fail(errno);
    }
    if (const int err = m_temp->finish(); !m_failed && err != 0) {
      fail(err);
    }
    if (const int err = m_failed ? 0 : m_temp->rename_over(m_path); err != 0) {
      fail(err);
    }
    if (m_failed) {
      return error(fmt::format("cannot write {}: {}", m_path, std::strerror(m_errno)));
    }
    return {};
  }

  bool failed() const { return m_failed; }

private:
  // Writes to the file go out in pieces of about this size.
  static constexpr std::size_t k_buffer_size = 256 * 1024;

  Sink() = default;

  void fail(int err)
  {
    m_failed = true;
    m_errno = err;
  }

  void flush_buffer()
  {
    if (!m_failed && !m_buffer.empty() && !util::write_all(m_temp->fd(), m_buffer)) {
      fail(errno);
    }
    m_buffer.clear();
  }

  engine::Console* m_console = nullptr; // set: standard output through it
  std::optional<util::TempFile> m_temp; // set: the file being written
  std::string m_path;
  std::string m_buffer; // written to the file, not yet to m_temp
  mode_t m_mode = 0600;
  bool m_failed = false;
  int m_errno = 0;
};

// Write `bytes` to `path` atomically (temp file + rename), mode 0600.
Result<void>
write_file(const std::string& path, std::string_view bytes)
{
  RAG_TRY_ASSIGN(Sink sink, Sink::open(path, 0600));
  sink.write(bytes);
  return sink.commit();
}

std::string
base_name(const std::string& path)
{
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool
same_file(const std::string& a, const std::string& b)
{
  struct stat sa
  {};
  struct stat sb
  {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

Result<void>
check_options(const ExportOptions& options)
{
  if (options.last < 0) {
    return usage_error("--last must be a positive number", "e.g. --last 50");
  }
  if (!options.output.empty()) {
    if (options.output.ends_with("/")) {
      return usage_error(fmt::format("-o {} names a directory", options.output),
                         "give a file name, e.g. -o events.har");
    }
    if (same_file(options.output, options.log_path)) {
      return usage_error(fmt::format("-o {} is the event log itself", options.output),
                         "export to another file");
    }
    struct stat st
    {};
    if (::stat(options.output.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return usage_error(fmt::format("-o {} is a directory", options.output),
                         "give a file name, e.g. -o events.har");
    }
  }
  return {};
}

Result<void>
write_jsonl(std::vector<Selected>& selected, Sink& sink)
{
  std::vector<core::KeptLine> lines;
  for (auto& chosen : selected) {
    for (auto& line : chosen.lines) {
      lines.push_back(std::move(line));
    }
  }
  // Back in log order: each line exactly as it is in the log, in the same sequence.
  std::sort(lines.begin(), lines.end(),
            [](const core::KeptLine& a, const core::KeptLine& b) { return a.offset < b.offset; });
  for (const auto& line : lines) {
    if (!sink.write(line.text) || !sink.write("\n")) {
      break;
    }
  }
  return {};
}

Result<void>
write_har(const std::vector<Selected>& selected, Sink& sink)
{
  core::HarWriter writer(RAG_VERSION);
  sink.write(writer.begin());
  for (const auto& chosen : selected) {
    if (!sink.write(writer.entry(chosen.event, core::har_response(chosen.deliveries)))) {
      break;
    }
  }
  sink.write(writer.end());
  return {};
}

// Write the curl script; with -o, bodies curl cannot take as a quoted argument go to
// files in OUTPUT.d/ beside the script, which reads them relative to its own path.
Result<std::size_t>
write_curl(const std::vector<Selected>& selected, const ExportOptions& options, Sink& sink)
{
  const bool to_file = !options.output.empty();
  const std::string files_dir = options.output + ".d";
  const std::string files_rel = base_name(options.output) + ".d/";
  std::size_t files = 0;
  bool uses_dir = false;
  if (to_file) {
    uses_dir = std::any_of(selected.begin(), selected.end(), [](const Selected& chosen) {
      return core::curl_body_needs_printf(chosen.event);
    });
  }
  if (uses_dir && ::mkdir(files_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return error(fmt::format("cannot create {}: {}", files_dir, std::strerror(errno)));
  }

  sink.write("#!/usr/bin/env bash\n");
  sink.write(fmt::format("# {} request{} exported by rag {}; run this script to send {} again, "
                         "in capture order.\n",
                         selected.size(), selected.size() == 1 ? "" : "s", RAG_VERSION,
                         selected.size() == 1 ? "it" : "them"));
  sink.write("set -euo pipefail\n");
  // No progress meters; errors still show. A newline ends each response body.
  sink.write("curl() { command curl -sS \"$@\"; echo; }\n");
  if (uses_dir) {
    sink.write("dir=$(dirname \"$0\")\n");
  }
  for (const auto& chosen : selected) {
    const core::Event& event = chosen.event;
    sink.write(fmt::format("\n# {}  {}  {} {}\n", core::terminal_line(event.id),
                           core::format_time_us(event.time_us), core::terminal_line(event.method),
                           core::terminal_line(event.target)));
    std::string body_file;
    if (to_file && core::curl_body_needs_printf(event)) {
      const std::string name = event.id + ".bin";
      RAG_TRY(write_file(files_dir + "/" + name, event.body));
      body_file = "\"$dir\"/" + core::shell_quote(files_rel + name);
      ++files;
    }
    if (!sink.write(core::curl_command(event, chosen.deliveries, body_file))) {
      break;
    }
  }
  return files;
}

std::string_view
format_name(ExportFormat format)
{
  switch (format) {
  case ExportFormat::har: return "HAR";
  case ExportFormat::curl: return "curl";
  case ExportFormat::jsonl: break;
  }
  return "JSON Lines";
}

} // namespace

Result<int>
run_export(const ExportOptions& options, engine::Console& console)
{
  RAG_TRY(check_options(options));
  RAG_TRY_ASSIGN(const core::EventFilter filter,
                 core::EventFilter::parse(options.filter, core::SystemClock().now_us()));
  // Writes to a closed pipe must come back as EPIPE (a quiet end), not kill us.
  std::signal(SIGPIPE, SIG_IGN);

  const core::EventLogReader reader(
      options.log_path, [&console](const std::string& message) { console.warning(message); });
  RAG_TRY_ASSIGN(
      std::vector<Selected> selected,
      select_events(reader, filter, static_cast<std::size_t>(options.last), options.format));
  if (options.format == ExportFormat::curl) {
    drop_unsendable(selected, console);
  }

  const mode_t mode = options.format == ExportFormat::curl ? 0700 : 0600;
  // Ctrl-C while the file is written would leave its temporary file behind: the signal
  // takes effect once the file is in place or its temporary file removed.
  std::optional<engine::SignalDeferral> deferred;
  if (!options.output.empty()) {
    deferred.emplace();
  }
  std::optional<Sink> opened;
  if (options.output.empty()) {
    opened.emplace(Sink::to(console));
  } else {
    RAG_TRY_ASSIGN(Sink file, Sink::open(options.output, mode));
    opened.emplace(std::move(file));
  }
  Sink& sink = *opened;
  std::size_t files = 0;
  switch (options.format) {
  case ExportFormat::jsonl: RAG_TRY(write_jsonl(selected, sink)); break;
  case ExportFormat::har: RAG_TRY(write_har(selected, sink)); break;
  case ExportFormat::curl: {
    RAG_TRY_ASSIGN(files, write_curl(selected, options, sink));
    break;
  }
  }
  RAG_TRY(sink.commit());

  if (selected.empty()) {
    struct stat st
    {};
    const bool empty_log = ::stat(options.log_path.c_str(), &st) != 0 || st.st_size == 0;
    console.warning(empty_log
                        ? fmt::format("no events in {} yet; nothing exported", options.log_path)
                        : std::string("no events match; nothing exported"));
  } else if (!options.output.empty()) {
    std::string extra;
    if (files > 0) {
      extra = fmt::format(" ({} bod{} in {}.d/)", files, files == 1 ? "y" : "ies", options.output);
    }
    console.err(fmt::format("rag: exported {} event{} as {} to {}{}", selected.size(),
                            selected.size() == 1 ? "" : "s", format_name(options.format),
                            options.output, extra));
  }
  return 0;
}

} // namespace rag::commands
