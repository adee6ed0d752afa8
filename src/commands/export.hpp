#pragma once

#include "core/event_filter.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <string>

namespace rag::commands {

enum class ExportFormat {
  jsonl, // the selected event lines and their delivery lines, byte for byte as logged
  har,   // HAR 1.2, one entry per event with its primary delivery as the response
  curl,  // a bash script with one curl command per event
};

struct ExportOptions
{
  std::string log_path; // resolved (never empty)
  ExportFormat format = ExportFormat::jsonl;
  long long last = 0;      // the newest N matching events; 0: every matching event
  core::FilterSpec filter; // the `rag inspect` filters
  std::string output;      // -o FILE; empty: stdout
};

// Write the selected events, oldest first, in the chosen format to `console`'s data
// stream or atomically (temp file + rename) to `output`; returns the exit code.
Result<int> run_export(const ExportOptions& options, engine::Console& console);

} // namespace rag::commands
