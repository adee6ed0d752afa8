#!/usr/bin/env bash
# The bash completion script, loaded in a real bash with bash-completion's helpers,
# completes commands, nested commands, options, provider names, export formats, sample
# names and event ids taken from the log.
source "$(dirname "$0")/lib.sh"
need bash
[ -f /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"

# `rag` on PATH, as the completion runs it to list event ids and samples.
mkdir -p "$T/bin"
ln -s "$RAG" "$T/bin/rag"
"$RAG" import "$SRC/tests/fixtures/devtools.har" >/dev/null 2>&1 || fail "import fixture"
first_id=$(grep -o '"id":"evt_[^"]*"' "$RAG_LOG" | head -n 1 | cut -d'"' -f4)
[ -n "$first_id" ] || fail "no event id in the log"

# complete WORD...: print the completions for the command line WORD... (the last word
# is the one being completed), one per line.
complete_line() {
  PATH="$T/bin:$PATH" bash -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    _rag rag "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"
  ' bash "$SRC/completions/rag.bash" "$@"
}

expect_eq "$(complete_line rag li)" listen "rag li<TAB>"
expect_eq "$(complete_line rag listen --for)" --forward-to "rag listen --for<TAB>"
out=$(complete_line rag "")
for cmd in listen inspect replay export import trigger log completions; do
  expect_contains "$out" "$cmd" "rag <TAB>"
done
out=$(complete_line rag log "")
for cmd in path stats verify prune; do
  expect_contains "$out" "$cmd" "rag log <TAB>"
done
expect_eq "$(complete_line rag log prune --ol)" --older-than "rag log prune --ol<TAB>"
out=$(complete_line rag listen --verify "")
expect_contains "$out" "github=" "rag listen --verify <TAB>"
expect_contains "$out" "hmac:" "rag listen --verify <TAB>"
expect_eq "$(complete_line rag replay --resign st)" "$(printf 'stripe=\nstandard=')" \
  "rag replay --resign st<TAB>"
expect_eq "$(complete_line rag export --format h)" har "rag export --format h<TAB>"
expect_eq "$(complete_line rag export -F c)" curl "rag export -F c<TAB>"
expect_eq "$(complete_line rag trigger github.pi)" github.ping "rag trigger github.pi<TAB>"
expect_eq "$(complete_line rag completions z)" zsh "rag completions z<TAB>"
# A value is not completed as a command: `--forward-to` takes the next word.
expect_eq "$(complete_line rag listen --forward-to "")" "" "rag listen --forward-to <TAB>"

# Event ids come from the log.
out=$(complete_line rag inspect "")
expect_contains "$out" "$first_id" "rag inspect <TAB>"
expect_eq "$(complete_line rag replay --last 3 "${first_id:0:12}")" "$first_id" \
  "rag replay --last 3 PREFIX<TAB>"

# Files for --log, -o and import's FILE.
touch "$T/capture.har"
expect_contains "$(complete_line rag export -o "$T/capt")" "$T/capture.har" "rag export -o <TAB>"
expect_contains "$(complete_line rag import "$T/capt")" "$T/capture.har" "rag import <TAB>"
expect_contains "$(complete_line rag log stats --log "$T/capt")" "$T/capture.har" \
  "rag log stats --log <TAB>"
