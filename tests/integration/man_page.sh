#!/usr/bin/env bash
# docs/rag.1, rendered by man, documents what the real binary offers: a section for every
# command and nested subcommand its --help lists, every option and positional with the
# value name --help shows, every environment variable the code reads, the exit codes
# and the version; and it is the current rendering of docs/rag.1.md (when pandoc is here).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v man >/dev/null 2>&1 || skip "man is not installed (apt-get install man-db)"
need col awk

roff="$SRC/docs/rag.1"
source_md="$SRC/docs/rag.1.md"
[ -f "$roff" ] || fail "$roff is missing"
[ -f "$source_md" ] || fail "$source_md is missing"
regenerate="pandoc -s -t man docs/rag.1.md -o docs/rag.1"

# render ROFF: the page as a reader sees it, plain text, fixed width, no tabs.
render() {
  LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$1" 2>"$T/man.err" | col -bx
}
render "$roff" >"$T/page.txt"
[ -s "$T/page.txt" ] || fail "man -l $roff rendered nothing: $(cat "$T/man.err")"

# section HEADING: the rendered lines under the .SH or .SS heading named exactly HEADING.
section() {
  awk -v heading="$1" '
    /^[^ ]/ || /^   [^ ]/ { sub(/^ +/, ""); inside = ($0 == heading); next }
    inside { print }' "$T/page.txt"
}

# has_term TEXT TERM: TEXT has a definition-list term line that is exactly TERM, with
# the description either on the next line or after a space (short terms).
has_term() {
  printf '%s\n' "$1" | awk -v term="$2" '
    BEGIN { prefix = "       " term; n = length(prefix); found = 0 }
    substr($0, 1, n) == prefix && (length($0) == n || substr($0, n + 1, 1) == " ") {
      found = 1
    }
    END { exit !found }'
}

# help_entries WORDS...: one line per positional ("positional NAME") and option
# ("option -f, --forward-to URL") that `rag WORDS --help` lists.
help_entries() {
  "$RAG" "$@" --help | awk '
    /^Positionals:$/ { block = "positional"; next }
    /^Options:$/ { block = "option"; next }
    /^[^ ]/ || /^$/ { block = ""; next }
    block != "" && /^  [^ ]/ {
      left = substr($0, 3)
      sub(/   .*$/, "", left)
      sub(/ +$/, "", left)
      if (block == "positional") {
        split(left, words, " ")
        print "positional " words[1]
      } else {
        gsub(/,/, ", ", left)
        print "option " left
      }
    }'
}

# subcommands WORDS...: the subcommands `rag WORDS --help` lists, one per line.
subcommands() {
  "$RAG" "$@" --help | awk '
    /^Subcommands:$/ { on = 1; next }
    on && /^$/ { exit }
    on && /^  [^ ]/ { print $1 }'
}

# Every command and nested subcommand, breadth first, as "listen", "log stats", ...
commands=()
queue=("")
while ((${#queue[@]} > 0)); do
  parent=${queue[0]}
  queue=("${queue[@]:1}")
  read -r -a words <<<"$parent"
  while IFS= read -r name; do
    commands+=("${parent:+$parent }$name")
    queue+=("${parent:+$parent }$name")
  done < <(subcommands "${words[@]}")
done
((${#commands[@]} >= 8)) || fail "found only ${#commands[@]} commands in rag --help: ${commands[*]}"
for expected in listen inspect replay "log stats" "log prune"; do
  printf '%s\n' "${commands[@]}" | grep -qxF "$expected" ||
    fail "command discovery missed '$expected' (found: ${commands[*]})"
done

problems=()

# --help and --version are documented once, under OPTIONS.
options_text=$(section OPTIONS)
while IFS= read -r entry; do
  term=${entry#option }
  has_term "$options_text" "$term" || problems+=("OPTIONS: no entry '$term'")
done < <(help_entries)

checked=0
for command in "${commands[@]}"; do
  read -r -a words <<<"$command"
  text=$(section "rag $command")
  if [ -z "$text" ]; then
    problems+=("no section 'rag $command' (a '## rag $command' heading in docs/rag.1.md)")
    continue
  fi
  [[ "$text" == *"       rag $command"* ]] || problems+=("rag $command: no synopsis line")
  while IFS= read -r entry; do
    kind=${entry%% *}
    term=${entry#* }
    if [ "$kind" == option ] && [ "$term" == "-h, --help" ]; then
      continue
    fi
    if [ "$kind" == positional ]; then
      # Positionals may carry "..." after the name (ID...).
      has_term "$text" "$term" || has_term "$text" "$term..." ||
        problems+=("rag $command: no entry for the positional $term")
    else
      has_term "$text" "$term" || problems+=("rag $command: no entry '$term'")
    fi
    checked=$((checked + 1))
  done < <(help_entries "${words[@]}")
done
((checked >= 60)) || fail "checked only $checked options and positionals; is --help parsed right?"

# Every "rag ..." heading names a real command (nothing stale is documented).
while IFS= read -r heading; do
  printf '%s\n' "${commands[@]}" | grep -qxF "${heading#rag }" ||
    problems+=("section '$heading' documents no command of rag --help")
done < <(grep -E '^   rag ' "$T/page.txt" | sed 's/^ *//')

# Every environment variable the code reads by name, and the ones the SPEC names.
environment=$(section ENVIRONMENT)
mapfile -t variables < <(
  grep -rhoE '(getenv|envname)\("[A-Za-z_][A-Za-z0-9_]*"\)' "$SRC/src" |
    sed -E 's/.*\("(.*)"\)/\1/' | sort -u
)
((${#variables[@]} >= 4)) || fail "found only ${#variables[@]} variables read in src/"
for variable in "${variables[@]}" RAG_LOG NO_COLOR XDG_STATE_HOME HOME; do
  has_term "$environment" "$variable" || problems+=("ENVIRONMENT: no entry for $variable")
done

files=$(section FILES)
for path in .local/state/rag/events.jsonl share/bash-completion/completions/rag \
  share/zsh/site-functions/_rag share/fish/vendor_completions.d/rag.fish; do
  [[ "$files" == *"$path"* ]] || problems+=("FILES: $path is not named")
done

exit_status=$(section "EXIT STATUS")
for code in 0 1 2; do
  has_term "$exit_status" "$code" || problems+=("EXIT STATUS: no entry for $code")
done

# The footer names the version the binary reports ("rag 0.1.0").
version=$("$RAG" --version)
footer=$(grep -v '^ *$' "$T/page.txt" | tail -n 1)
[[ "$footer" == "$version "* ]] ||
  problems+=("footer '$footer' does not start with '$version' (update footer: in rag.1.md)")

# Pandoc's smart typography turns a bare -- into an en dash, which breaks every flag.
if grep -qF '\[en]' "$roff"; then
  problems+=("docs/rag.1 has en dashes: write -- as \\-\\- in docs/rag.1.md outside code")
fi

if command -v pandoc >/dev/null 2>&1; then
  (cd "$SRC" && pandoc -s -t man docs/rag.1.md -o "$T/regenerated.1") ||
    fail "pandoc could not convert docs/rag.1.md"
  render "$T/regenerated.1" >"$T/regenerated.txt"
  if ! diff -u "$T/page.txt" "$T/regenerated.txt" >"$T/stale.diff"; then
    head -n 40 "$T/stale.diff" >&2
    problems+=("docs/rag.1 is not the rendering of docs/rag.1.md (run: $regenerate)")
  fi
else
  echo "note: pandoc is not installed; not checking docs/rag.1 against docs/rag.1.md" >&2
fi

if ((${#problems[@]} > 0)); then
  printf '  %s\n' "${problems[@]}" >&2
  fail "${#problems[@]} problems in docs/rag.1"
fi
echo "ok: ${#commands[@]} commands, $checked options and positionals, ${#variables[@]} variables"
