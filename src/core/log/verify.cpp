#include "core/log/verify.hpp"

#include "core/event_view.hpp"
#include "core/log/reader.hpp"
#include "core/log/record_parser.hpp"

#include <utility>
#include <variant>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace rag::core {

namespace {

using Json = nlohmann::ordered_json;

} // namespace

std::string
format_problem(const LogProblem& problem)
{
  return fmt::format("{}: {}{}", problem.line, problem.warning ? "warning: " : "",
                     terminal_line(problem.reason));
}

std::string
to_json_line(const LogProblem& problem)
{
  const Json json{{"line", problem.line},
                  {"severity", problem.warning ? "warning" : "error"},
                  {"reason", problem.reason}};
  // Invalid UTF-8 (a raw target can hold any byte) is replaced, never thrown.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

LogVerifier::LogVerifier(ProblemFn on_problem) : m_on_problem(std::move(on_problem)) {}

void
LogVerifier::report(std::uint64_t number, bool warning, std::string reason)
{
  if (warning) {
    ++m_summary.warnings;
  } else {
    ++m_summary.bad_lines;
  }
  if (m_on_problem) {
    m_on_problem(LogProblem{number, warning, std::move(reason)});
  }
}

void
LogVerifier::line(std::uint64_t number, std::string_view text)
{
  ++m_summary.lines;
  auto record = parse_record(text);
  if (!record) {
    report(number, false, record.error().message);
    return;
  }
  if (const auto* event = std::get_if<Event>(&*record)) {
    ++m_summary.events;
    if (!m_event_ids.insert(event->id)) {
      report(number, true, fmt::format("event id {} is used by an earlier event too", event->id));
    }
    return;
  }
  const auto& delivery = std::get<Delivery>(*record);
  ++m_summary.deliveries;
  // Not an error: a delivery may legitimately outlive its event in a hand-edited or
  // concatenated log, and readers show it without its event.
  if (!m_event_ids.contains(delivery.event_id)) {
    report(number, true,
           fmt::format("delivery {} is for event {}, which is not earlier in the log", delivery.id,
                       delivery.event_id));
  }
}

void
LogVerifier::torn_tail(std::uint64_t number, std::uint64_t bytes)
{
  ++m_summary.lines;
  report(number, false, fmt::format("torn last line ({} bytes, no newline)", bytes));
}

Result<VerifySummary>
verify_log(const std::string& path, const LogVerifier::ProblemFn& on_problem)
{
  LogVerifier verifier(on_problem);
  const EventLogReader reader(path);
  RAG_TRY_ASSIGN(const LineScan scan, reader.scan_lines([&](const LogLine& line) {
    verifier.line(line.number, line.text);
    return true;
  }));
  if (scan.tail_torn) {
    verifier.torn_tail(scan.lines + 1, scan.tail_bytes);
  }
  VerifySummary summary = verifier.summary();
  summary.exists = scan.exists;
  summary.size = scan.size;
  return summary;
}

} // namespace rag::core
