#!/usr/bin/env bash
# `rag log path` prints the log path on stdout and says on stderr where it comes from:
# --log, RAG_LOG, or the default under $XDG_STATE_HOME or $HOME/.local/state.
# shellcheck disable=SC2016 # the notes name variables literally
source "$(dirname "$0")/lib.sh"

# RAG_LOG (lib.sh exports it).
out=$("$RAG" log path 2>"$T/env.err")
expect_eq "$out" "$RAG_LOG" "path from RAG_LOG"
expect_contains "$(cat "$T/env.err")" "from RAG_LOG" "note for RAG_LOG"
expect_contains "$(cat "$T/env.err")" "does not exist yet" "note for a missing file"

# --log wins over RAG_LOG.
out=$("$RAG" log path --log "$T/flag.jsonl" 2>"$T/flag.err")
expect_eq "$out" "$T/flag.jsonl" "path from --log"
expect_eq "$(cat "$T/flag.err")" "rag: from --log; the file does not exist yet" "note for --log"
# Even when both name the same file, the flag is what applied.
expect_contains "$("$RAG" log path --log "$RAG_LOG" 2>&1 >/dev/null)" "from --log" \
  "--log equal to RAG_LOG"

# The default: XDG_STATE_HOME when absolute, else HOME.
out=$(env -u RAG_LOG XDG_STATE_HOME="$T/state" HOME="$T/home" "$RAG" log path 2>"$T/xdg.err")
expect_eq "$out" "$T/state/rag/events.jsonl" "default under XDG_STATE_HOME"
expect_contains "$(cat "$T/xdg.err")" 'default: $XDG_STATE_HOME/rag/events.jsonl' "note for XDG"

out=$(env -u RAG_LOG -u XDG_STATE_HOME HOME="$T/home" "$RAG" log path 2>"$T/home.err")
expect_eq "$out" "$T/home/.local/state/rag/events.jsonl" "default under HOME"
expect_contains "$(cat "$T/home.err")" 'default: $HOME/.local/state/rag/events.jsonl' "note for HOME"
expect_contains "$(cat "$T/home.err")" "XDG_STATE_HOME is not set" "why not XDG"

out=$(env -u RAG_LOG XDG_STATE_HOME=relative HOME="$T/home" "$RAG" log path 2>"$T/rel.err")
expect_eq "$out" "$T/home/.local/state/rag/events.jsonl" "a relative XDG_STATE_HOME is ignored"
expect_contains "$(cat "$T/rel.err")" "not an absolute path" "why XDG was ignored"

# An empty RAG_LOG counts as unset.
out=$(RAG_LOG='' XDG_STATE_HOME="$T/state" "$RAG" log path 2>/dev/null)
expect_eq "$out" "$T/state/rag/events.jsonl" "empty RAG_LOG"

# --json, and an existing file.
touch "$RAG_LOG"
expect_eq "$("$RAG" log path --json)" "{\"path\":\"$RAG_LOG\",\"source\":\"env\",\"exists\":true}" \
  "--json from RAG_LOG"
expect_eq "$("$RAG" log path 2>&1 >/dev/null)" "rag: from RAG_LOG" "note for an existing file"
expect_eq "$(env -u RAG_LOG XDG_STATE_HOME="$T/state" "$RAG" log path --json)" \
  "{\"path\":\"$T/state/rag/events.jsonl\",\"source\":\"default\",\"exists\":false}" \
  "--json for the default"
expect_eq "$("$RAG" log path --log "$T/x.jsonl" --json)" \
  "{\"path\":\"$T/x.jsonl\",\"source\":\"flag\",\"exists\":false}" "--json for --log"

# Usage: every log command has help with examples; mistakes are exit 2.
for cmd in path stats verify prune; do
  help=$("$RAG" log "$cmd" --help)
  expect_contains "$help" "Examples:" "rag log $cmd --help has examples"
  expect_contains "$help" "--log FILE" "rag log $cmd --help lists --log"
done
rc=0
err=$("$RAG" log stat 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for an unknown log command"
expect_contains "$err" "did you mean 'stats'?" "did you mean for a log command"
rc=0
"$RAG" log >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "exit code for rag log without a command"
rc=0
"$RAG" log stats extra >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "exit code for a stray argument"
