#!/usr/bin/env bash
# The fish completion script, loaded in a real fish, completes commands, nested
# commands, options and their values.
source "$(dirname "$0")/lib.sh"
need fish

mkdir -p "$T/bin"
ln -s "$RAG" "$T/bin/rag"
"$RAG" import "$SRC/tests/fixtures/devtools.har" >/dev/null 2>&1 || fail "import fixture"
first_id=$(grep -o '"id":"evt_[^"]*"' "$RAG_LOG" | head -n 1 | cut -d'"' -f4)

# complete_line LINE: the completions fish offers for LINE, without descriptions.
complete_line() {
  HOME="$T" XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data" PATH="$T/bin:$PATH" \
    fish --no-config -c "source '$SRC/completions/rag.fish'; complete -C '$1'" | cut -f1
}

expect_eq "$(complete_line "rag li")" listen "rag li<TAB>"
expect_eq "$(complete_line "rag listen --for")" --forward-to "rag listen --for<TAB>"
out=$(complete_line "rag log ")
for cmd in path stats verify prune; do
  expect_contains "$out" "$cmd" "rag log <TAB>"
done
expect_eq "$(complete_line "rag log prune --ol")" --older-than "rag log prune --ol<TAB>"
expect_contains "$(complete_line "rag listen --verify ")" "github=" "rag listen --verify <TAB>"
expect_eq "$(complete_line "rag export --format h")" har "rag export --format h<TAB>"
expect_eq "$(complete_line "rag trigger github.pi")" github.ping "rag trigger github.pi<TAB>"
expect_contains "$(complete_line "rag inspect ")" "$first_id" "rag inspect <TAB>"
