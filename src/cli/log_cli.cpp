#include "cli/commands.hpp"
#include "cli/forward_flags.hpp"
#include "commands/log.hpp"
#include "util/text.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace rag::cli {

namespace {

constexpr const char* k_log_examples = R"EX(Examples:
  rag log path                       where the log is, and why there
  rag log stats                      events, deliveries, size, methods, paths, statuses
  rag log verify                     list every bad line; exit 1 if there is one
  rag log prune --older-than 7d      remove events older than a week, with their deliveries

Run `rag log COMMAND --help` for a command's options and examples.)EX";

constexpr const char* k_path_examples = R"EX(Examples:
  rag log path                       print the path; stderr says where it comes from
  rag log path --json                {"path":"...","source":"flag|env|default","exists":true}
  less "$(rag log path)"
  RAG_LOG=/tmp/test.jsonl rag log path

The path is --log FILE, else $RAG_LOG, else $XDG_STATE_HOME/rag/events.jsonl, else
$HOME/.local/state/rag/events.jsonl.)EX";

constexpr const char* k_stats_examples = R"EX(Examples:
  rag log stats                      a summary table
  rag log stats --json | jq .events  one JSON object with stable field names

Counts events, deliveries (and replays among them), bad lines, the oldest and newest
event time, events by method and by path (the 10 most frequent paths; path = target
without the query), and deliveries by status class (1xx-5xx, error = no response).
Memory stays small for any size of log.)EX";

constexpr const char* k_verify_examples = R"EX(Examples:
  rag log verify                     every bad line as "LINE: REASON" on stdout
  rag log verify --json              one JSON object per problem
  rag log verify && echo clean

A bad line is one readers skip: not valid JSON, not a valid record (a field missing or
wrong, body size or SHA-256 not matching), or a torn last line left by a crash. Exit 1
when there is one. Warnings ("LINE: warning: ...") do not change the exit code: a
delivery whose event is not earlier in the log, an event id used twice.)EX";

constexpr const char* k_prune_examples = R"EX(Examples:
  rag log prune --older-than 7d      remove events captured more than 7 days ago
  rag log prune --older-than 2026-11-01
                                     remove events captured before that day (local time)
  rag log prune --keep 1000          keep only the newest 1000 events
  rag log prune --keep 0 --dry-run   count what would go, change nothing

Deliveries go with their event. Bad lines and deliveries whose event is not in the log
are kept. --keep counts events in log order (the last N appended). The log is rewritten
atomically (a temporary file renamed over it under the writers' lock), so a running
`rag listen` keeps appending and loses nothing.)EX";

// One `rag log` subcommand and the values CLI11 fills in for it.
struct LogSub
{
  CLI::App* app = nullptr;
  commands::LogAction action = commands::LogAction::stats;
  std::string log;
  bool json = false;
};

std::vector<std::string>
flag_names(const CLI::App& app)
{
  std::vector<std::string> flags;
  for (const auto* opt : app.get_options()) {
    for (const auto& name : opt->get_lnames()) {
      flags.push_back("--" + name);
    }
  }
  return flags;
}

// Explain a word CLI11 left over: a mistyped command, option or a stray argument.
Error
explain_extra(const std::string& word, const CLI::App* chosen,
              const std::vector<std::string>& commands)
{
  const std::string help =
      chosen ? fmt::format("run `rag log {} --help`", chosen->get_name()) : "run `rag log --help`";
  if (word.size() > 1 && word[0] == '-') {
    const std::string flag = word.substr(0, word.find('='));
    const std::string guess =
        chosen ? util::closest_match(flag, flag_names(*chosen)) : std::string();
    return usage_error(fmt::format("unknown option {}", flag),
                       guess.empty() ? help : fmt::format("did you mean {}?", guess));
  }
  if (chosen) {
    return usage_error(fmt::format("unexpected argument '{}'", word), help);
  }
  const std::string guess = util::closest_match(word, commands);
  return usage_error(fmt::format("unknown log command '{}'", word),
                     guess.empty() ? help : fmt::format("did you mean '{}'?", guess));
}

} // namespace

Runner
add_log(CLI::App& app)
{
  auto options = std::make_shared<commands::LogOptions>();
  // A deque: CLI11 keeps pointers into each LogSub, so they must never move.
  auto subs = std::make_shared<std::deque<LogSub>>();
  CLI::App* log = app.add_subcommand(
      "log", "The event log itself: where it is, what it holds, check it, prune it");
  log->footer(k_log_examples);

  const auto add_sub = [&](const char* name, const char* description, const char* examples,
                           commands::LogAction action, const char* json_help) -> CLI::App* {
    subs->push_back(LogSub{});
    LogSub& sub = subs->back();
    sub.action = action;
    sub.app = log->add_subcommand(name, description);
    sub.app->footer(examples);
    sub.app->add_flag("--json", sub.json, json_help);
    add_log_option(*sub.app, sub.log);
    return sub.app;
  };

  CLI::App* path =
      add_sub("path",
              "Print where the event log is; stderr says whether from --log, RAG_LOG "
              "or the default",
              k_path_examples, commands::LogAction::path, "Print {path, source, exists} as JSON");
  // CLI11 would fill --log from RAG_LOG itself and hide which of the two applied;
  // `rag log path` must say, so it reads the variable itself.
  path->get_option("--log")->envname("");

  add_sub("stats", "Count events, deliveries, bad lines; by method, path and status",
          k_stats_examples, commands::LogAction::stats, "Print the statistics as one JSON object");
  add_sub("verify", "Check every line; print each bad one as LINE: REASON; exit 1 if any",
          k_verify_examples, commands::LogAction::verify, "Print each problem as a JSON object");
  CLI::App* prune =
      add_sub("prune", "Remove old events and their deliveries (atomic; safe while listening)",
              k_prune_examples, commands::LogAction::prune, "Print the report as a JSON object");

  auto keep = std::make_shared<std::string>();
  CLI::Option* keep_option =
      prune->add_option("--keep", *keep, "Keep only the newest N events")->option_text("N");
  prune
      ->add_option("--older-than", options->older_than,
                   "Remove events captured before AGE ago (7d, 12h) or before a TIME")
      ->option_text("AGE|TIME");
  prune->add_flag("--dry-run,-n", options->dry_run, "Count what would be removed; change nothing");
  // Leftover words reach the runner, which answers "did you mean" for a mistyped
  // command (CLI11 would only say the argument was not expected). Set after adding
  // the subcommands, which would otherwise inherit it and accept any stray word.
  log->allow_extras();

  return [options, subs, log, keep, keep_option]() -> Result<int> {
    const LogSub* chosen = nullptr;
    std::vector<std::string> names;
    for (const auto& sub : *subs) {
      names.push_back(sub.app->get_name());
      if (sub.app->parsed()) {
        chosen = &sub;
      }
    }
    const auto extras = log->remaining();
    if (!extras.empty()) {
      return explain_extra(extras.front(), chosen ? chosen->app : nullptr, names);
    }
    if (chosen == nullptr) {
      fmt::print(stderr, "{}", log->help("rag"));
      return usage_error("rag log needs a command: path, stats, verify or prune",
                         "run `rag log --help`");
    }
    commands::LogOptions run = *options;
    run.action = chosen->action;
    run.json = chosen->json;
    if (keep_option->count() > 0) {
      RAG_TRY_ASSIGN(run.keep, parse_event_count("--keep", *keep, 0));
    }
    if (chosen->action == commands::LogAction::path) {
      const char* env = std::getenv("RAG_LOG");
      if (!chosen->log.empty()) {
        run.source = commands::LogPathSource::flag;
        run.log_path = chosen->log;
      } else if (env != nullptr && env[0] != '\0') {
        run.source = commands::LogPathSource::env;
        run.log_path = env;
      } else {
        run.source = commands::LogPathSource::default_path;
        run.log_path = resolve_log_path("");
        run.default_origin = core::describe_default_log_path(log_path_env());
      }
    } else {
      run.log_path = resolve_log_path(chosen->log);
    }
    return commands::run_log(run, terminal_console());
  };
}

} // namespace rag::cli
