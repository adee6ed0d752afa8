#!/usr/bin/env bash
# Every flag that takes a number of events (--last of inspect, replay and export, --keep
# of log prune) refuses a bad one with the same single line and exit code 2, never
# CLI11's range message with its 300-digit maximum.
source "$(dirname "$0")/lib.sh"

# check_bad COMMAND... -- VALUE FLAG MIN: the one-line usage error for VALUE.
check_bad() {
  local args=() rc=0
  while [ "$1" != -- ]; do
    args+=("$1")
    shift
  done
  local value=$2 flag=$3 min=$4
  "$RAG" "${args[@]}" "$flag" "$value" >"$T/out" 2>"$T/err" || rc=$?
  local what="rag ${args[*]} $flag '$value'"
  expect_eq "$rc" 2 "$what: exit code"
  expect_eq "$(wc -l <"$T/err" | tr -d ' ')" 1 "$what: one line"
  expect_eq "$(cat "$T/err")" \
    "rag: error: $flag needs a number of events, $min or more, not '$value' (e.g. $flag 10)" \
    "$what: the message"
  expect_eq "$(cat "$T/out")" "" "$what: nothing on stdout"
}

for value in 0 -1 abc 1.5 '' 10x ' 3'; do
  check_bad inspect -- "$value" --last 1
  check_bad replay -- "$value" --last 1
  check_bad export -- "$value" --last 1
done
for value in -1 abc 2.0 ''; do
  check_bad log prune -- "$value" --keep 0
done

# Good values still work, a huge one too.
"$RAG" inspect --last 3 >/dev/null 2>&1 || fail "inspect --last 3"
"$RAG" inspect --last 99999999999999999999999 >/dev/null 2>&1 || fail "inspect with a huge --last"
"$RAG" export --last 1 >/dev/null 2>&1 || fail "export --last 1"
"$RAG" log prune --keep 0 --dry-run >/dev/null 2>&1 || fail "log prune --keep 0"
