#include "cli/completions.hpp"

#include "core/signature.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace rag::cli {

namespace {

// What the value of an option or positional is, and so how a shell completes it.
enum class ValueKind { none, text, file, provider, format, event_id, sample, shell };

struct Flag
{
  std::vector<std::string> names;  // "-f", "--forward-to": short names first
  std::vector<std::string> shorts; // "f"
  std::vector<std::string> longs;  // "forward-to"
  std::string description;
  std::string value_name; // "URL"; empty for a flag
  bool repeatable = false;
  ValueKind kind = ValueKind::none;
};

struct Positional
{
  std::string name;
  std::string description;
  bool required = false;
  bool repeatable = false;
  ValueKind kind = ValueKind::text;
};

struct Command
{
  std::vector<std::string> path; // {"log", "prune"}; empty for rag itself
  std::string name;
  std::string description;
  std::vector<Flag> flags;
  std::vector<Positional> positionals;
  std::vector<Command> subs;
};

constexpr const char* k_event_id_sed = R"SH(sed -n 's/^{[^][{}]*"id":"\(evt_[^"]*\)".*/\1/p')SH";

const std::vector<std::string>&
export_formats()
{
  static const std::vector<std::string> formats = {"jsonl", "har", "curl"};
  return formats;
}

// Provider names as --verify/--resign words: "github=" ... and "hmac:" (which goes on).
std::vector<std::string>
provider_words()
{
  std::vector<std::string> words;
  for (const auto& name : core::provider_names()) {
    words.push_back(name == "hmac" ? name + ":" : name + "=");
  }
  return words;
}

std::string
join(const std::vector<std::string>& words, std::string_view separator = " ")
{
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) {
      out += separator;
    }
    out += word;
  }
  return out;
}

// The first clause of a help text: completion menus have one line per item.
std::string
short_description(const std::string& text)
{
  std::size_t end = text.size();
  for (const char* stop : {" (", "; ", ". ", "\n"}) {
    end = std::min(end, text.find(stop));
  }
  return text.substr(0, end);
}

ValueKind
option_kind(const std::vector<std::string>& longs)
{
  for (const auto& name : longs) {
    if (name == "log" || name == "config" || name == "output") {
      return ValueKind::file;
    }
    if (name == "verify" || name == "resign") {
      return ValueKind::provider;
    }
    if (name == "format") {
      return ValueKind::format;
    }
  }
  return ValueKind::text;
}

ValueKind
positional_kind(const std::vector<std::string>& path)
{
  if (path.size() != 1) {
    return ValueKind::text;
  }
  const std::string& command = path.front();
  if (command == "inspect" || command == "replay") {
    return ValueKind::event_id;
  }
  if (command == "trigger") {
    return ValueKind::sample;
  }
  if (command == "import") {
    return ValueKind::file;
  }
  if (command == "completions") {
    return ValueKind::shell;
  }
  return ValueKind::text;
}

// Read the CLI11 tree into a Command; hidden subcommands and options (empty group) are
// left out, the way --help leaves them out.
Command
read_command(const CLI::App& app, std::vector<std::string> path)
{
  Command command;
  command.path = path;
  command.name = path.empty() ? std::string("rag") : path.back();
  command.description = short_description(app.get_description());
  for (const auto* opt : app.get_options()) {
    if (opt->get_group().empty()) {
      continue;
    }
    if (!opt->nonpositional()) {
      Positional positional;
      positional.name = opt->get_name(true);
      positional.description = short_description(opt->get_description());
      positional.required = opt->get_required();
      positional.repeatable = opt->get_items_expected_max() > 1;
      positional.kind = positional_kind(path);
      command.positionals.push_back(positional);
      continue;
    }
    Flag flag;
    flag.shorts = opt->get_snames();
    flag.longs = opt->get_lnames();
    for (const auto& name : flag.shorts) {
      flag.names.push_back("-" + name);
    }
    for (const auto& name : flag.longs) {
      flag.names.push_back("--" + name);
    }
    flag.description = short_description(opt->get_description());
    if (opt->get_type_size_max() > 0) {
      flag.value_name =
          opt->get_option_text().empty() ? opt->get_type_name() : opt->get_option_text();
      flag.repeatable = opt->get_items_expected_max() > 1;
      flag.kind = option_kind(flag.longs);
    }
    command.flags.push_back(flag);
  }
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) {
      continue;
    }
    auto sub_path = path;
    sub_path.push_back(sub->get_name());
    command.subs.push_back(read_command(*sub, sub_path));
  }
  return command;
}

template<typename Visit>
void
for_each_command(const Command& command, const Visit& visit)
{
  visit(command);
  for (const auto& sub : command.subs) {
    for_each_command(sub, visit);
  }
}

std::vector<std::string>
sub_names(const Command& command)
{
  std::vector<std::string> names;
  for (const auto& sub : command.subs) {
    names.push_back(sub.name);
  }
  return names;
}

// ---- bash ----------------------------------------------------------------------------

std::string
bash_key(const Command& command)
{
  return command.path.empty() ? std::string("rag") : "rag " + join(command.path);
}

std::string
bash_positional_word(ValueKind kind)
{
  switch (kind) {
  case ValueKind::event_id: return "ids";
  case ValueKind::sample: return "samples";
  case ValueKind::file: return "file";
  case ValueKind::shell: return "shells";
  default: return "";
  }
}

std::string
bash_script(const Command& root)
{
  std::string out =
      fmt::format(R"SH(# bash completion for rag; generated by `rag completions bash`, do not edit.
# shellcheck shell=bash

# _rag_spec COMMAND: set subs, flags, valued (the options that take a value) and
# positional (what its arguments are: ids, samples, file, shells or nothing) for COMMAND.
_rag_spec()
{{
  subs=""
  flags=""
  valued=""
  positional=""
  case "$1" in
)SH");
  for_each_command(root, [&](const Command& command) {
    std::vector<std::string> flags;
    std::vector<std::string> valued;
    for (const auto& flag : command.flags) {
      flags.insert(flags.end(), flag.names.begin(), flag.names.end());
      if (!flag.value_name.empty()) {
        valued.insert(valued.end(), flag.names.begin(), flag.names.end());
      }
    }
    std::string positional;
    if (!command.positionals.empty()) {
      positional = bash_positional_word(command.positionals.front().kind);
    }
    out += fmt::format("  \"{}\")\n", bash_key(command));
    if (!command.subs.empty()) {
      out += fmt::format("    subs=\"{}\"\n", join(sub_names(command)));
    }
    out += fmt::format("    flags=\"{}\"\n", join(flags));
    if (!valued.empty()) {
      out += fmt::format("    valued=\"{}\"\n", join(valued));
    }
    if (!positional.empty()) {
      out += fmt::format("    positional=\"{}\"\n", positional);
    }
    out += "    ;;\n";
  });
  out += "  esac\n}\n";

  std::vector<std::string> file_cases;
  std::vector<std::string> provider_cases;
  std::vector<std::string> format_cases;
  for_each_command(root, [&](const Command& command) {
    for (const auto& flag : command.flags) {
      for (const auto& name : flag.names) {
        const std::string pattern = fmt::format("\"{}:{}\"", bash_key(command), name);
        if (flag.kind == ValueKind::file) {
          file_cases.push_back(pattern);
        } else if (flag.kind == ValueKind::provider) {
          provider_cases.push_back(pattern);
        } else if (flag.kind == ValueKind::format) {
          format_cases.push_back(pattern);
        }
      }
    }
  });

  out += fmt::format(R"SH(
# _rag_reply WORDS: offer the WORDS that start with $cur.
_rag_reply()
{{
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}}

_rag_files()
{{
  if declare -F _filedir >/dev/null; then
    _filedir
  else
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}}

# _rag_event_ids RAG: the ids of the newest 50 events in the log.
_rag_event_ids()
{{
  "$1" inspect --json --last 50 2>/dev/null |
    {sed}
}}

_rag()
{{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=""
  ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}
  local cmd=rag word i subs flags valued positional
  _rag_spec rag
  # Follow the subcommands typed so far, stepping over options and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    if [[ $word == -* ]]; then
      [[ " $valued " == *" $word "* ]] && i=$((i + 1))
      continue
    fi
    if [[ " $subs " == *" $word "* ]]; then
      cmd="$cmd $word"
      _rag_spec "$cmd"
    fi
  done

  case "$cmd:$prev" in
  {files})
    _rag_files
    return
    ;;
  {providers})
    compopt -o nospace 2>/dev/null || true
    _rag_reply "{provider_words}"
    return
    ;;
  {formats})
    _rag_reply "{format_words}"
    return
    ;;
  esac
  if [[ " $valued " == *" $prev "* ]]; then
    return # a free-form value
  fi
  if [[ $cur == -* ]]; then
    _rag_reply "$flags"
  elif [[ -n $subs ]]; then
    _rag_reply "$subs"
  else
    case "$positional" in
    ids) _rag_reply "$(_rag_event_ids "${{COMP_WORDS[0]}}")" ;;
    samples) _rag_reply "$("${{COMP_WORDS[0]}}" trigger --list 2>/dev/null | cut -d' ' -f1)" ;;
    file) _rag_files ;;
    shells) _rag_reply "{shell_words}" ;;
    esac
  fi
}}

complete -F _rag rag
)SH",
                     fmt::arg("sed", k_event_id_sed), fmt::arg("files", join(file_cases, " | ")),
                     fmt::arg("providers", join(provider_cases, " | ")),
                     fmt::arg("formats", join(format_cases, " | ")),
                     fmt::arg("provider_words", join(provider_words())),
                     fmt::arg("format_words", join(export_formats())),
                     fmt::arg("shell_words", join(completion_shells())));
  return out;
}

// ---- zsh -----------------------------------------------------------------------------

// Quote for a zsh _arguments explanation inside single quotes.
std::string
zsh_explanation(const std::string& text)
{
  std::string out;
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '[' || c == ']' || c == ':' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string
zsh_function(const Command& command)
{
  std::string name = "_rag";
  for (const auto& part : command.path) {
    name += "_";
    for (char c : part) {
      name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
    }
  }
  return name;
}

std::string
zsh_action(ValueKind kind)
{
  switch (kind) {
  case ValueKind::file: return "_files";
  case ValueKind::provider: return "_rag_providers";
  case ValueKind::format: return fmt::format("({})", join(export_formats()));
  case ValueKind::event_id: return "_rag_event_ids";
  case ValueKind::sample: return "_rag_samples";
  case ValueKind::shell: return fmt::format("({})", join(completion_shells()));
  default: return " ";
  }
}

std::string
zsh_flag_spec(const Flag& flag)
{
  std::string spec = "    ";
  const std::string explanation = "[" + zsh_explanation(flag.description) + "]";
  const std::string value =
      flag.value_name.empty()
          ? std::string()
          : fmt::format(":{}:{}", zsh_explanation(flag.value_name), zsh_action(flag.kind));
  const std::string prefix =
      flag.repeatable ? std::string("'*'")
                      : (flag.names.size() > 1 ? fmt::format("'({})'", join(flag.names)) : "");
  if (flag.names.size() > 1) {
    spec += fmt::format("{}{{{}}}'{}{}'", prefix, join(flag.names, ","), explanation, value);
  } else {
    spec += fmt::format("'{}{}{}{}'", flag.repeatable ? "*" : "", flag.names.front(), explanation,
                        value);
  }
  return spec;
}

void
zsh_command(const Command& command, std::string& out)
{
  std::vector<std::string> specs;
  for (const auto& flag : command.flags) {
    specs.push_back(zsh_flag_spec(flag));
  }
  out += fmt::format("{}() {{\n", zsh_function(command));
  if (command.path.empty()) {
    out += "  local _rag_cmd=${words[1]}\n";
  }
  if (command.subs.empty()) {
    int index = 1;
    for (const auto& positional : command.positionals) {
      const std::string position = positional.repeatable ? "*" : std::to_string(index++);
      specs.push_back(fmt::format("    '{}:{}{}:{}'", position, positional.required ? "" : ":",
                                  zsh_explanation(positional.name), zsh_action(positional.kind)));
    }
    out += "  _arguments -s";
    for (const auto& spec : specs) {
      out += " \\\n" + spec;
    }
    out += "\n}\n\n";
    return;
  }
  out += "  local curcontext=\"$curcontext\" state line\n";
  out += "  typeset -A opt_args\n";
  out += "  _arguments -C -s";
  for (const auto& spec : specs) {
    out += " \\\n" + spec;
  }
  out += " \\\n    '1: :->command' \\\n    '*:: :->argument'\n";
  out += "  case $state in\n  command)\n    local -a commands\n    commands=(\n";
  for (const auto& sub : command.subs) {
    out += fmt::format("      '{}:{}'\n", sub.name, zsh_explanation(sub.description));
  }
  out += fmt::format("    )\n    _describe -t commands '{} command' commands\n    ;;\n",
                     command.path.empty() ? "rag" : "rag " + join(command.path));
  out += "  argument)\n    case $line[1] in\n";
  for (const auto& sub : command.subs) {
    out += fmt::format("    {}) {} ;;\n", sub.name, zsh_function(sub));
  }
  out += "    esac\n    ;;\n  esac\n}\n\n";
}

std::string
zsh_script(const Command& root)
{
  std::string out =
      fmt::format(R"SH(#compdef rag
# zsh completion for rag; generated by `rag completions zsh`, do not edit.

# The ids of the newest 50 events in the log.
_rag_event_ids() {{
  local -a ids
  ids=(${{(f)"$(${{_rag_cmd:-rag}} inspect --json --last 50 2>/dev/null |
    {sed})"}})
  _wanted event-ids expl 'event id' compadd -a ids
}}

_rag_samples() {{
  local -a samples
  samples=(${{(f)"$(${{_rag_cmd:-rag}} trigger --list 2>/dev/null | cut -d' ' -f1)"}})
  _wanted samples expl 'sample' compadd -a samples
}}

_rag_providers() {{
  _wanted providers expl 'provider' compadd -S '' -- {providers}
}}

)SH",
                  fmt::arg("sed", k_event_id_sed), fmt::arg("providers", join(provider_words())));
  for_each_command(root, [&](const Command& command) { zsh_command(command, out); });
  out += R"SH(if [ "$funcstack[1]" = "_rag" ]; then
  _rag "$@"
else
  compdef _rag rag
fi
)SH";
  return out;
}

// ---- fish ----------------------------------------------------------------------------

std::string
fish_quote(const std::string& text)
{
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

std::string
fish_condition(const Command& command, bool offering_subs)
{
  if (command.path.empty()) {
    return offering_subs ? "__fish_use_subcommand" : "";
  }
  std::vector<std::string> parts;
  for (const auto& part : command.path) {
    parts.push_back("__fish_seen_subcommand_from " + part);
  }
  if (offering_subs) {
    parts.push_back("not __fish_seen_subcommand_from " + join(sub_names(command)));
  }
  return join(parts, "; and ");
}

std::string
fish_value(ValueKind kind)
{
  switch (kind) {
  case ValueKind::file: return " -r -F";
  case ValueKind::provider: return " -x -a " + fish_quote(join(provider_words()));
  case ValueKind::format: return " -x -a " + fish_quote(join(export_formats()));
  case ValueKind::event_id: return " -x -a '(__rag_event_ids)'";
  case ValueKind::sample: return " -x -a '(__rag_samples)'";
  case ValueKind::shell: return " -x -a " + fish_quote(join(completion_shells()));
  case ValueKind::text: return " -x";
  default: return "";
  }
}

std::string
fish_script(const Command& root)
{
  std::string out =
      fmt::format(R"SH(# fish completion for rag; generated by `rag completions fish`, do not edit.

# The ids of the newest 50 events in the log.
function __rag_event_ids
    set -l rag (commandline -opc)[1]
    command $rag inspect --json --last 50 2>/dev/null |
        string replace -rf '^\{{[^\[\]{{}}]*"id":"(evt_[^"]*)".*' '$1'
end

function __rag_samples
    set -l rag (commandline -opc)[1]
    command $rag trigger --list 2>/dev/null | string replace -r ' .*' ''
end

complete -c rag -f
)SH");
  for_each_command(root, [&](const Command& command) {
    out += fmt::format("\n# {}\n", command.path.empty() ? "rag" : "rag " + join(command.path));
    // rag's own options only before a command, like its commands.
    const std::string condition = fish_condition(command, command.path.empty());
    const std::string when = condition.empty() ? "" : " -n " + fish_quote(condition);
    for (const auto& flag : command.flags) {
      std::string line = "complete -c rag" + when;
      for (const auto& name : flag.shorts) {
        line += " -s " + name;
      }
      for (const auto& name : flag.longs) {
        line += " -l " + name;
      }
      if (!flag.value_name.empty()) {
        line += fish_value(flag.kind);
      }
      out += line + " -d " + fish_quote(flag.description) + "\n";
    }
    if (!command.subs.empty()) {
      const std::string subs_when = " -n " + fish_quote(fish_condition(command, true));
      for (const auto& sub : command.subs) {
        out += fmt::format("complete -c rag{} -a {} -d {}\n", subs_when, sub.name,
                           fish_quote(sub.description));
      }
    } else if (!command.positionals.empty() &&
               command.positionals.front().kind != ValueKind::text) {
      const Positional& positional = command.positionals.front();
      std::string value = fish_value(positional.kind);
      if (positional.kind == ValueKind::file) {
        value = " -F";
      } else {
        value.erase(0, 3); // " -x": arguments of a command are not option values
      }
      out += fmt::format("complete -c rag{}{} -d {}\n", when, value,
                         fish_quote(positional.description));
    }
  });
  return out;
}

} // namespace

const std::vector<std::string>&
completion_shells()
{
  static const std::vector<std::string> shells = {"bash", "zsh", "fish"};
  return shells;
}

std::string
completion_script(const CLI::App& root, std::string_view shell)
{
  const Command command = read_command(root, {});
  if (shell == "bash") {
    return bash_script(command);
  }
  if (shell == "zsh") {
    return zsh_script(command);
  }
  if (shell == "fish") {
    return fish_script(command);
  }
  return {};
}

} // namespace rag::cli
