#!/usr/bin/env bash
# A dead target is recorded as "connection refused" while the others are served and
# the sender is answered; a dead primary gives the sender 502 with a short JSON
# error; the listener keeps serving and the events stay in the log.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_listen L -f "$A_URL" -f "127.0.0.1:$dead_port"

for i in 1 2 3; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -d "n=$i" "$L_URL/hook")
  expect_eq "$code" 200 "sender answered by the live primary ($i)"
done
wait_for 5 '[ "$(log_deliveries)" -eq 6 ]' || fail "expected 6 deliveries, got $(log_deliveries)"
expect_eq "$(peer_count A)" 3 "live target got every request"
expect_eq "$(grep -c '"error":"connection refused"' "$RAG_LOG")" 3 "dead target recorded as connection refused"
stop_listen L

start_listen M -f "127.0.0.1:$dead_port" -f "$A_URL"
answer=$(curl -sS -w '\n%{http_code}' -d 'x' "$M_URL/down")
expect_eq "$(tail -n 1 <<<"$answer")" 502 "dead primary gives 502"
expect_contains "$answer" '"error":"connection refused"' "502 body names the problem"
wait_for 5 '[ "$(peer_count A)" -eq 4 ]' || fail "the second target was not served"
expect_eq "$(log_events)" 4 "every event is in the log"
code=$(curl -sS -o /dev/null -w '%{http_code}' -d 'again' "$M_URL/down")
expect_eq "$code" 502 "listener keeps serving"
stop_listen M
