#!/usr/bin/env bash
# The committed completion scripts are exactly what `rag completions SHELL` prints, so
# they never drift from the command line they describe; the output is deterministic.
source "$(dirname "$0")/lib.sh"

for pair in bash:rag.bash zsh:_rag fish:rag.fish; do
  shell=${pair%%:*} file=${pair#*:}
  "$RAG" completions "$shell" >"$T/$file" || fail "rag completions $shell failed"
  "$RAG" completions "$shell" >"$T/$file.again"
  cmp -s "$T/$file" "$T/$file.again" || fail "rag completions $shell is not deterministic"
  cmp -s "$T/$file" "$SRC/completions/$file" ||
    fail "completions/$file is out of date; regenerate: build/rag completions $shell > completions/$file"
done

rc=0
"$RAG" completions tcsh >"$T/out" 2>"$T/usage.err" || rc=$?
expect_eq "$rc" 2 "unknown shell exit code"
[ ! -s "$T/out" ] || fail "unknown shell printed a script"
