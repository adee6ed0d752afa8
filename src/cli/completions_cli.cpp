#include "cli/commands.hpp"
#include "cli/completions.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>
#include <string>

namespace rag::cli {

namespace {

constexpr const char* k_completions_examples = R"(Examples:
  source <(rag completions bash)      try them in this bash session
  rag completions bash > ~/.local/share/bash-completion/completions/rag
  rag completions zsh > ~/.zfunc/_rag         (with fpath+=(~/.zfunc) before compinit)
  rag completions fish > ~/.config/fish/completions/rag.fish

The scripts cover every command and option; they complete event ids (from the newest 50
events in the log), sample names for `rag trigger`, provider names for --verify and
--resign, export formats and file names.)";

} // namespace

Runner
add_completions(CLI::App& app)
{
  auto shell = std::make_shared<std::string>();
  CLI::App* sub =
      app.add_subcommand("completions", "Print the shell completion script for bash, zsh or fish");
  sub->footer(k_completions_examples);
  sub->add_option("SHELL", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember(completion_shells()));
  // The tree is read when the command runs: subcommands added after this one count too.
  const CLI::App* root = &app;
  return [root, shell]() -> Result<int> {
    fmt::print("{}", completion_script(*root, *shell));
    return 0;
  };
}

} // namespace rag::cli
