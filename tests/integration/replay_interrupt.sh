#!/usr/bin/env bash
# Ctrl-C (SIGTERM here: a background job ignores SIGINT) stops dispatching new events,
# lets the deliveries in flight finish, prints a summary of what was sent and exits 1
# because events were left unsent.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
curl -sS -d 'i' "$L_URL/int/[1-50]" >/dev/null
stop_listen L
start_peer H hold --hold-file "$T/release"

"$RAG" replay --since 1h --to "$H_URL" --concurrency 2 >"$T/replay.out" 2>"$T/replay.err" &
pid=$!
PIDS+=("$pid")
# The held target has both deliveries in flight; the third waits for room.
wait_for 10 '[ "$(peer_count H)" -eq 2 ]' || fail "the first two deliveries did not start"
kill -TERM "$pid"
wait_for 10 grep -q 'stopping' "$T/replay.err" || fail "no stopping message"
touch "$T/release"
rc=0
wait "$pid" || rc=$?
expect_eq "$rc" 1 "an interrupted replay with events left unsent"
expect_eq "$(peer_count H)" 2 "no new event after Ctrl-C"
expect_contains "$(cat "$T/replay.err")" \
  "interrupted: replayed 2 of 50 events: 2 deliveries, 2 ok, 0 failed" "summary of what was sent"
expect_contains "$(cat "$T/replay.err")" "48 events not sent" "what was left is said"
expect_eq "$(log_deliveries)" 2 "the in-flight deliveries were recorded"
expect_eq "$(wc -l <"$T/replay.out" | tr -d ' ')" 2 "their lines were printed"
