#!/usr/bin/env bash
# 300 requests over 30 concurrent connections, fanned out to 3 targets: each target
# receives exactly 300, the log holds 300 events and 900 deliveries.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_peer A sink
start_peer B sink
start_peer C sink
start_listen L -f "$A_URL" -f "$B_URL" -f "$C_URL"

for i in $(seq 1 300); do echo "$L_URL/load/$i"; done |
  xargs -P 30 -n 10 curl -sS -w '\n%{http_code}\n' -H 'Content-Type: application/json' \
    -d '{"load":true}' >"$T/codes"
expect_eq "$(grep -c '^200$' "$T/codes")" 300 "answered requests"
wait_for 20 '[ "$(log_deliveries)" -eq 900 ]' || fail "expected 900 deliveries, got $(log_deliveries)"
for peer in A B C; do
  expect_eq "$(peer_count "$peer")" 300 "requests received by $peer"
done
expect_eq "$(log_events)" 300 "events in the log"
expect_eq "$(grep '"kind":"delivery"' "$RAG_LOG" | grep -c '"status":200')" 900 "successful deliveries"
stop_listen L
