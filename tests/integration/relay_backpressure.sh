#!/usr/bin/env bash
# Backpressure instead of eviction (issue 12 item 15): a burst faster than a subscriber
# drains (it is paused with SIGSTOP) with --backlog 20. The relay answers 503 with
# Retry-After once the channel holds 20 events the subscriber has not read, says so once
# on its terminal, and every publish it answered 202 reaches the subscriber when it reads
# again: none is lost. Then publishing is accepted again.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R --backlog 20
url="$R_URL/burst"

# It asks for `bodyB` and `rag` (each body twice in base64), so that its socket buffers
# fill up with a few events and the rest wait in the relay.
subscribe_sse SLOW "$url?bodyB=1" -H 'Rag-Tunnel: 1'
kill -STOP "$SLOW_PID"

# The subscriber must stay paused for less than the relay's 30 s write timeout, so the
# loop only saves the answers; they are read afterwards.
python3 -c 'import os, sys; sys.stdout.buffer.write(os.urandom(200 * 1024))' >"$T/body"
accepted_answers=()
refused=0
for i in $(seq 1 100); do
  status=$(curl -s -D "$T/head.$i" -o "$T/answer.$i" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/body" "$url?n=$i")
  case $status in
  202) accepted_answers+=("$T/answer.$i") ;;
  503)
    refused=$((refused + 1))
    expect_contains "$(tr -d '\r' <"$T/head.$i")" $'\nRetry-After: ' "a 503 says when to retry"
    expect_contains "$(cat "$T/answer.$i")" '"error":"' "a 503 is a JSON error"
    ;;
  *) fail "publish $i of 100 got $status" ;;
  esac
done
accepted=${#accepted_answers[@]}
((accepted > 0)) || fail "no publish was accepted"
python3 -c '
import json, sys
for path in sys.argv[1:]:
    print(json.load(open(path))["id"])' "${accepted_answers[@]}" >"$T/accepted"
((refused > 0)) || fail "no publish was refused while the subscriber was paused ($accepted accepted)"
((accepted >= 20)) || fail "only $accepted publishes were accepted; the backlog holds 20"
expect_eq "$(grep -c 'refusing   burst' "$T/R.err" || true)" 1 \
  "one terminal line when the relay starts refusing, not one per request"

# The subscriber reads again: it receives every event that was answered 202, in order.
kill -CONT "$SLOW_PID"
wait_for 60 '[ "$(sse_message_count "$T/SLOW.sse")" -ge "$accepted" ]' ||
  fail "the subscriber got $(sse_message_count "$T/SLOW.sse") of the $accepted accepted events"
expect_eq "$(sse_message_ids "$T/SLOW.sse")" "$(cat "$T/accepted")" \
  "every accepted publish reached the subscriber, in order, once"
expect_not_contains "$(cat "$T/SLOW.sse")" "event: gap" "nothing the subscriber had not read was dropped"

# It has read them: publishing is accepted again, and the terminal says so once.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --data 'again' "$url")
expect_eq "$status" 202 "a publish after the subscriber caught up"
wait_for 10 'grep -q "accepting  burst" "$T/R.err"' || fail "no terminal line for accepting again"
stop_relay R
