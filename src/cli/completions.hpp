#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace rag::cli {

// The shells `rag completions` writes scripts for, in a stable order: bash, zsh, fish.
const std::vector<std::string>& completion_shells();

// Return the completion script for `shell` (one of completion_shells(); anything else
// gives an empty string) covering every non-hidden subcommand, option and positional
// under `root`, in registration order so the output is byte-for-byte deterministic.
std::string completion_script(const CLI::App& root, std::string_view shell);

} // namespace rag::cli
