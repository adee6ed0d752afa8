#!/usr/bin/env bash
# --version, --help with examples, and usage errors (exit 2 with "did you mean").
source "$(dirname "$0")/lib.sh"

expect_contains "$("$RAG" --version)" "rag 0." "--version"
for cmd in listen inspect; do
  out=$("$RAG" "$cmd" --help)
  expect_contains "$out" "Examples:" "rag $cmd --help has examples"
  expect_contains "$out" "--log" "rag $cmd --help lists --log"
done
expect_contains "$("$RAG" --help)" "Examples:" "rag --help has examples"

rc=0
err=$("$RAG" lisen 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for an unknown command"
expect_contains "$err" "unknown command 'lisen'" "unknown command named"
expect_contains "$err" "did you mean 'listen'?" "did you mean for a command"

rc=0
err=$("$RAG" inspect --folow 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for an unknown flag"
expect_contains "$err" "did you mean --follow?" "did you mean for a flag"
expect_eq "$(printf '%s\n' "$err" | wc -l)" 1 "usage error is one line"

rc=0
"$RAG" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 2 "exit code without a command"

# Nested subcommands get "did you mean" for their own flags, and help names the path.
rc=0
err=$("$RAG" log stats --jsn 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for an unknown flag of a nested command"
expect_contains "$err" "did you mean --json?" "did you mean for a nested command's flag"
rc=0
err=$("$RAG" log prune --zzzzzz 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for a far-off flag of a nested command"
expect_contains "$err" "run \`rag log prune --help\`" "help names the nested command"
