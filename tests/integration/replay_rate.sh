#!/usr/bin/env bash
# --rate 50/s spaces 100 deliveries over at least ~2 s (a lower bound only: a slow
# machine may take longer, never less).
source "$(dirname "$0")/lib.sh"
need curl

start_listen L
curl -sS -d 'r' "$L_URL/rate/[1-100]" >/dev/null
stop_listen L
start_peer S sink

start=$(date +%s%N)
"$RAG" replay --since 1h --to "$S_URL" --rate 50/s >/dev/null 2>"$T/replay.err" || fail "replay failed"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "$(peer_count S)" 100 "every event sent"
# 100 sends 20 ms apart: the last starts 1.98 s after the first.
((elapsed_ms >= 1900)) || fail "--rate 50/s sent 100 events in ${elapsed_ms} ms (< 1900 ms)"

rc=0
"$RAG" replay --last 1 --to "$S_URL" --rate fast 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 2 "a bad --rate"
expect_contains "$(cat "$T/bad.err")" "--rate" "a bad --rate is named"
