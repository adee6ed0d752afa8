#include "commands/log.hpp"

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/event_view.hpp"
#include "core/log/prune.hpp"
#include "core/log/record_time.hpp"
#include "core/log/record_writer.hpp"
#include "core/log/stats.hpp"
#include "core/log/verify.hpp"
#include "engine/console.hpp"
#include "engine/stop_signal.hpp"
#include "util/terminal.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <fmt/core.h>

namespace rag::commands {

namespace {

// "1 event", "2 events".
std::string
count_of(std::uint64_t n, const char* singular, const char* plural)
{
  return fmt::format("{} {}", n, n == 1 ? singular : plural);
}

bool
file_exists(const std::string& path)
{
  struct stat st
  {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<int>
run_path(const LogOptions& options, engine::Console& console)
{
  const bool exists = file_exists(options.log_path);
  const char* source = "default";
  std::string note;
  switch (options.source) {
  case LogPathSource::flag:
    source = "flag";
    note = "from --log";
    break;
  case LogPathSource::env:
    source = "env";
    note = "from RAG_LOG";
    break;
  case LogPathSource::default_path: note = "default: " + options.default_origin; break;
  }
  if (options.json) {
    console.out(fmt::format("{{\"path\":\"{}\",\"source\":\"{}\",\"exists\":{}}}",
                            core::json_escape(options.log_path), source, exists));
    return 0;
  }
  console.out(options.log_path);
  console.err(fmt::format("rag: {}{}", note, exists ? "" : "; the file does not exist yet"));
  return 0;
}

std::string
join_counts(const std::vector<core::NamedCount>& counts)
{
  std::string text;
  for (const auto& entry : counts) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", core::terminal_line(entry.name),
                        entry.count);
  }
  return text.empty() ? "-" : text;
}

std::string
join_statuses(const core::StatusClasses& s)
{
  const std::pair<const char*, std::uint64_t> classes[] = {
      {"1xx", s.informational}, {"2xx", s.success},      {"3xx", s.redirection},
      {"4xx", s.client_error},  {"5xx", s.server_error}, {"error", s.failed}};
  std::string text;
  for (const auto& [name, count] : classes) {
    if (count > 0) {
      text += fmt::format("{}{} {}", text.empty() ? "" : ", ", name, count);
    }
  }
  return text.empty() ? "-" : text;
}

Result<int>
run_stats(const LogOptions& options, engine::Console& console)
{
  RAG_TRY_ASSIGN(const core::LogStats stats, core::collect_log_stats(options.log_path));
  if (options.json) {
    console.out(core::to_json_line(stats, options.log_path));
  } else {
    const auto row = [&console](const char* label, const std::string& value) {
      console.out(fmt::format("{:<12} {}", label, value));
    };
    const auto time = [](const std::optional<std::int64_t>& time_us) {
      return time_us ? core::format_time_us(*time_us) : std::string("-");
    };
    row("log", core::terminal_line(options.log_path));
    row("size", fmt::format("{} ({} bytes)", util::human_size(stats.size), stats.size));
    row("events", stats.refused > 0 ? fmt::format("{} ({} refused)", stats.events, stats.refused)
                                    : std::to_string(stats.events));
    row("deliveries", stats.replays > 0 ? fmt::format("{} ({})", stats.deliveries,
                                                      count_of(stats.replays, "replay", "replays"))
                                        : std::to_string(stats.deliveries));
    row("bad lines", stats.bad_lines > 0 ? fmt::format("{} (run `rag log verify`)", stats.bad_lines)
                                         : std::string("0"));
    row("oldest", time(stats.oldest_us));
    row("newest", time(stats.newest_us));
    row("methods", join_counts(stats.methods));
    row("statuses", join_statuses(stats.statuses));
    if (stats.top_paths.empty()) {
      row("top paths", "-");
    }
    const std::size_t width =
        stats.top_paths.empty() ? 0 : std::to_string(stats.top_paths.front().count).size();
    for (std::size_t i = 0; i < stats.top_paths.size(); ++i) {
      const auto& entry = stats.top_paths[i];
      row(i == 0 ? "top paths" : "",
          fmt::format("{:>{}}  {}", entry.count, width, core::terminal_line(entry.name)));
    }
  }
  if (!stats.exists) {
    console.err(fmt::format("rag: {} does not exist yet (nothing captured)", options.log_path));
  }
  if (stats.approximate) {
    console.err("rag: the log has too many distinct methods or paths to count them all; "
                "the counts shown are lower bounds");
  }
  return 0;
}

Result<int>
run_verify(const LogOptions& options, engine::Console& console)
{
  RAG_TRY_ASSIGN(const core::VerifySummary summary,
                 core::verify_log(options.log_path, [&](const core::LogProblem& problem) {
                   console.out(options.json ? core::to_json_line(problem)
                                            : core::format_problem(problem));
                 }));
  if (!summary.exists) {
    console.err(fmt::format("rag: {} does not exist yet: nothing to verify", options.log_path));
    return 0;
  }
  const std::string counted =
      fmt::format("{} checked: {}, {}", count_of(summary.lines, "line", "lines"),
                  count_of(summary.events, "event", "events"),
                  count_of(summary.deliveries, "delivery", "deliveries"));
  const std::string warnings =
      summary.warnings > 0 ? fmt::format(", {}", count_of(summary.warnings, "warning", "warnings"))
                           : std::string();
  if (summary.bad_lines > 0) {
    console.err(fmt::format(
        "rag: {}: {} ({}{}); readers skip bad lines, `rag log prune` keeps them", options.log_path,
        count_of(summary.bad_lines, "bad line", "bad lines"), counted, warnings));
    return 1;
  }
  console.err(fmt::format("rag: {}: no bad lines ({}{})", options.log_path, counted, warnings));
  return 0;
}

Result<core::PrunePolicy>
prune_policy(const LogOptions& options)
{
  const bool by_age = !options.older_than.empty();
  if (by_age == options.keep.has_value()) {
    return usage_error(by_age ? "use either --older-than or --keep, not both"
                              : "rag log prune needs --older-than AGE or --keep N",
                       "run `rag log prune --help`");
  }
  core::PrunePolicy policy;
  if (options.keep) {
    if (*options.keep < 0) {
      return usage_error("--keep needs a number of events, 0 or more");
    }
    policy.keep = static_cast<std::uint64_t>(*options.keep);
    return policy;
  }
  core::SystemClock clock;
  auto before = core::parse_time_spec(options.older_than, clock.now_us());
  if (!before) {
    return usage_error(fmt::format("--older-than: {}", before.error().message),
                       "give an age like 7d or 12h, or a time like 2026-11-01");
  }
  policy.before_us = *before;
  return policy;
}

void
print_prune_report(const LogOptions& options, engine::Console& console,
                   const core::PruneReport& report)
{
  if (options.json) {
    console.out(core::to_json_line(report, options.dry_run));
    return;
  }
  const std::string kept = fmt::format("{} and {}", count_of(report.events_kept, "event", "events"),
                                       count_of(report.deliveries_kept, "delivery", "deliveries"));
  if (report.events_removed == 0 && report.deliveries_removed == 0) {
    console.out(
        fmt::format("nothing to prune: kept {} ({})", kept, util::human_size(report.size_before)));
  } else {
    console.out(fmt::format(
        "{} {} and {}, {} {}; {} → {}{}", options.dry_run ? "would prune" : "pruned",
        count_of(report.events_removed, "event", "events"),
        count_of(report.deliveries_removed, "delivery", "deliveries"),
        options.dry_run ? "would keep" : "kept", kept, util::human_size(report.size_before),
        util::human_size(report.size_after), options.dry_run ? " (dry run: nothing changed)" : ""));
  }
  if (report.bad_lines_kept > 0) {
    console.err(fmt::format("rag: kept {} unchanged (see `rag log verify`)",
                            count_of(report.bad_lines_kept, "bad line", "bad lines")));
  }
  if (report.torn_tail_bytes > 0) {
    console.err(
        fmt::format("rag: dropped a torn last line ({} bytes) left by a writer that crashed",
                    report.torn_tail_bytes));
  }
}

Result<int>
run_prune(const LogOptions& options, engine::Console& console)
{
  RAG_TRY_ASSIGN(const core::PrunePolicy policy, prune_policy(options));
  // Ctrl-C during the rewrite would leave the temporary file behind: once prune holds
  // the lock, it waits until the new log is in place and the report printed.
  std::optional<engine::SignalDeferral> block;
  RAG_TRY_ASSIGN(
      const core::PruneReport report,
      core::prune_log(options.log_path, policy, options.dry_run, [&block] { block.emplace(); }));
  if (!report.exists) {
    if (options.json) {
      console.out(core::to_json_line(report, options.dry_run));
    }
    console.err(fmt::format("rag: {} does not exist yet: nothing to prune", options.log_path));
    return 0;
  }
  print_prune_report(options, console, report);
  return 0;
}

} // namespace

Result<int>
run_log(const LogOptions& options, engine::Console& console)
{
  switch (options.action) {
  case LogAction::path: return run_path(options, console);
  case LogAction::stats: return run_stats(options, console);
  case LogAction::verify: return run_verify(options, console);
  case LogAction::prune: return run_prune(options, console);
  }
  return usage_error("unknown log command");
}

} // namespace rag::commands
