#pragma once

#include "engine/console.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>

namespace rag::commands {

// The `rag log` subcommands.
enum class LogAction { path, stats, verify, prune };

// Where the log path came from, as `rag log path` reports it.
enum class LogPathSource { flag, env, default_path };

struct LogOptions
{
  LogAction action = LogAction::stats;
  std::string log_path; // resolved (never empty)
  LogPathSource source = LogPathSource::default_path;
  std::string default_origin; // with default_path: where it comes from, for `rag log path`
  bool json = false;
  // prune: exactly one of `keep` and `older_than`
  std::optional<long long> keep; // --keep N
  std::string older_than;        // --older-than AGE|TIME ("7d", "2026-11-01")
  bool dry_run = false;
};

// Run `rag log ACTION`, writing to `console`; returns the exit code: verify gives 1 when
// a line is bad.
Result<int> run_log(const LogOptions& options, engine::Console& console);

} // namespace rag::commands
