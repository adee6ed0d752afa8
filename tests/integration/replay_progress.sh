#!/usr/bin/env bash
# On a terminal, replaying more than 5 events shows a progress line on stderr that is
# cleared before the summary; 5 events or fewer, or no terminal, show none.
source "$(dirname "$0")/lib.sh"
need curl script

start_listen L
curl -sS -d 'p' "$L_URL/progress/[1-20]" >/dev/null
stop_listen L
start_peer S sink

# script(1) runs the command on a pseudo-terminal and copies what it prints.
script -qec "$RAG replay --since 1h --to $S_URL" /dev/null >"$T/tty.out" </dev/null ||
  fail "replay on a terminal failed"
out=$(cat "$T/tty.out")
expect_contains "$out" "replaying [" "progress line on a terminal"
expect_contains "$out" "/20 events" "progress counts events"
expect_contains "$out" $'\r\e[Kreplayed 20 events' "progress cleared before the summary"
expect_eq "$(peer_count S)" 20 "every event sent"

script -qec "$RAG replay --last 5 --to $S_URL" /dev/null >"$T/few.out" </dev/null ||
  fail "replay of 5 events failed"
expect_not_contains "$(cat "$T/few.out")" "replaying [" "no progress line for 5 events"
"$RAG" replay --since 1h --to "$S_URL" >/dev/null 2>"$T/pipe.err" || fail "piped replay failed"
expect_not_contains "$(cat "$T/pipe.err")" "replaying [" "no progress line without a terminal"
