#pragma once

#include "engine/console.hpp"
#include "util/result.hpp"

#include <string>

namespace rag::commands {

struct ImportOptions
{
  std::string log_path; // resolved (never empty)
  std::string file;     // a HAR or rag JSON Lines file; "-" reads stdin
  bool json = false;    // print the appended records as JSON Lines
};

// Append the events of a HAR or JSON Lines file (format told by its content) to
// the log with new ids and source "import:FILE", writing to `console`; unreadable
// entries are skipped with a warning (the first few, then a count). Returns 0, or an
// Error when nothing was imported.
Result<int> run_import(const ImportOptions& options, engine::Console& console);

} // namespace rag::commands
