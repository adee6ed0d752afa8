#pragma once

#include "core/log/log_file.hpp"
#include "engine/console.hpp"
#include "util/result.hpp"

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace rag::cli {

// Runs a parsed subcommand; its options were filled in by CLI11.
using Runner = std::function<Result<int>()>;

// Each adds its subcommand (options, help, examples) to `app` and returns the
// runner that validates the options and executes the command.
Runner add_listen(CLI::App& app);
Runner add_inspect(CLI::App& app);
Runner add_replay(CLI::App& app);
Runner add_relay(CLI::App& app);
Runner add_tunnel(CLI::App& app);
Runner add_export(CLI::App& app);
Runner add_import(CLI::App& app);
Runner add_trigger(CLI::App& app);
Runner add_log(CLI::App& app);
Runner add_completions(CLI::App& app);

// Return the console of this process (standard output and error), which every command
// writes through.
engine::Console& terminal_console();

// Add `--log FILE` (env RAG_LOG) to `sub`, storing into `path`.
void add_log_option(CLI::App& sub, std::string& path);

// Return `path`, or the default log path when it is empty.
std::string resolve_log_path(const std::string& path);

// Return the environment variables the default log path depends on (read here: core
// reads no environment).
core::LogPathEnv log_path_env();

} // namespace rag::cli
