#include "cli/main.hpp"

#include "cli/commands.hpp"
#include "core/log/log_file.hpp"
#include "util/file.hpp"
#include "util/text.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

namespace rag::cli {

namespace {

constexpr const char* k_examples = R"(Examples:
  rag listen                      capture webhooks on http://127.0.0.1:7777
  rag listen -f 3000 -f 4000      forward each one to two local services
  rag inspect                     the newest captured events
  rag inspect evt_1K15 --body     the raw body of one event
  rag replay evt_1K15             send it again, byte for byte
  rag trigger --list              signed sample webhooks to send

Run `rag COMMAND --help` for a command's options and examples.)";

void
print_error(const Error& err)
{
  terminal_console().error(err);
}

std::vector<std::string>
subcommand_names(const CLI::App& app)
{
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// Find the innermost subcommand named on the command line ("rag log stats" -> stats).
const CLI::App*
chosen_subcommand(const CLI::App& app, int argc, char** argv)
{
  const CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (!word.empty() && word[0] == '-') {
      continue;
    }
    const CLI::App* next = nullptr;
    for (const auto* sub : current->get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == word) {
        next = sub;
      }
    }
    if (next == nullptr) {
      break;
    }
    current = next;
  }
  return current == &app ? nullptr : current;
}

// Return "log stats" for the stats subcommand of log: the words that name `sub`.
std::string
command_path(const CLI::App* sub)
{
  std::string path;
  for (; sub != nullptr && sub->get_parent() != nullptr; sub = sub->get_parent()) {
    path = path.empty() ? sub->get_name() : sub->get_name() + " " + path;
  }
  return path;
}

// Turn CLI11's "unexpected argument" into "unknown option --folow (did you mean --follow?)".
Error
explain_parse_error(const CLI::ParseError& e, const CLI::App& app, int argc, char** argv)
{
  const CLI::App* sub = chosen_subcommand(app, argc, argv);
  const std::string help =
      sub ? fmt::format("run `rag {} --help`", command_path(sub)) : std::string("run `rag --help`");
  std::string message = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    for (int i = 1; i < argc; ++i) {
      const std::string word = argv[i];
      if (word.size() < 2 || word[0] != '-' || message.find(word) == std::string::npos) {
        continue;
      }
      std::vector<std::string> flags;
      const CLI::App& scope = sub ? *sub : app;
      for (const auto* opt : scope.get_options()) {
        for (const auto& name : opt->get_lnames()) {
          flags.push_back("--" + name);
        }
      }
      const std::string flag = word.substr(0, word.find('='));
      const std::string guess = util::closest_match(flag, flags);
      if (!guess.empty()) {
        return usage_error(fmt::format("unknown option {}", flag),
                           fmt::format("did you mean {}?", guess));
      }
      return usage_error(fmt::format("unknown option {}", flag), help);
    }
  }
  return usage_error(message, help);
}

} // namespace

engine::Console&
terminal_console()
{
  // Colour is decided once, at the first use, from the terminal and NO_COLOR.
  static engine::TerminalConsole console;
  return console;
}

void
add_log_option(CLI::App& sub, std::string& path)
{
  sub.add_option("--log", path, "Event log file (default: $XDG_STATE_HOME/rag/events.jsonl)")
      ->envname("RAG_LOG")
      ->option_text("FILE");
}

core::LogPathEnv
log_path_env()
{
  return core::LogPathEnv{std::getenv("XDG_STATE_HOME"), std::getenv("HOME")};
}

std::string
resolve_log_path(const std::string& path)
{
  return path.empty() ? core::default_log_path(log_path_env()) : path;
}

int
main(int argc, char** argv)
{
  // Writes to a closed pipe or socket must fail with EPIPE, not kill rag.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"rag: a reverse-API gateway for webhook development.\n"
               "Capture webhooks on localhost, keep every byte, look at them again.",
               "rag"};
  app.set_version_flag("--version,-V", "rag " RAG_VERSION);
  app.footer(k_examples);
  app.get_formatter()->column_width(34);

  std::map<const CLI::App*, Runner> runners;
  auto add = [&](Runner (*adder)(CLI::App&)) {
    const std::size_t before = app.get_subcommands([](const CLI::App*) { return true; }).size();
    Runner runner = adder(app);
    auto subs = app.get_subcommands([](const CLI::App*) { return true; });
    if (subs.size() > before) {
      runners[subs.back()] = std::move(runner);
    }
  };
  add(add_listen);
  add(add_inspect);
  add(add_replay);
  add(add_relay);
  add(add_tunnel);
  add(add_export);
  add(add_import);
  add(add_trigger);
  add(add_log);
  add(add_completions);

  // An unknown command gets "did you mean" before CLI11 reads it as a stray argument.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    const auto names = subcommand_names(app);
    if (std::find(names.begin(), names.end(), word) == names.end()) {
      const std::string guess = util::closest_match(word, names);
      print_error(usage_error(fmt::format("unknown command '{}'", word),
                              guess.empty() ? std::string("run `rag --help` for the list")
                                            : fmt::format("did you mean '{}'?", guess)));
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(explain_parse_error(e, app, argc, argv));
    return 2;
  }

  // listen and relay hold a descriptor per connection (1,100 idle connections once
  // blocked a listener at the default soft limit of 1,024).
  util::raise_open_file_limit();
  for (auto& [sub, runner] : runners) {
    if (sub->parsed()) {
      try {
        Result<int> result = runner();
        if (!result) {
          print_error(result.error());
          return result.error().exit_code;
        }
        return *result;
      } catch (const std::exception& e) {
        print_error(error(fmt::format("internal error: {}", e.what()),
                          "please report this with the command you ran"));
        return 1;
      }
    }
  }
  fmt::print(stderr, "{}", app.help());
  print_error(usage_error("a command is required", "run `rag --help`"));
  return 2;
}

} // namespace rag::cli
