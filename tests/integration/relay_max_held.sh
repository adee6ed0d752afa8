#!/usr/bin/env bash
# --max-held bounds what the relay holds for all channels together: while a paused
# subscriber of one channel has not read what it holds, publishes to another channel
# (one nobody subscribes to) get 503 with Retry-After too; once it reads, every event
# answered 202 has reached it and the other channel is accepted again.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R --max-held 1MiB
expect_contains "$(cat "$T/R.err")" "at most 1.0 MiB held in all" "the banner names --max-held"

subscribe_sse SLOW "$R_URL/held?bodyB=1" -H 'Rag-Tunnel: 1'
kill -STOP "$SLOW_PID"

python3 -c 'import os, sys; sys.stdout.buffer.write(os.urandom(200 * 1024))' >"$T/body"
accepted_answers=()
refused=0
for i in $(seq 1 60); do
  status=$(curl -s -o "$T/answer.$i" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/body" "$R_URL/held?n=$i")
  case $status in
  202) accepted_answers+=("$T/answer.$i") ;;
  503) refused=$((refused + 1)) ;;
  *) fail "publish $i of 60 got $status" ;;
  esac
done
((refused > 0)) || fail "no publish was refused while the subscriber was paused"
((${#accepted_answers[@]} > 0)) || fail "no publish was accepted"
python3 -c '
import json, sys
for path in sys.argv[1:]:
    print(json.load(open(path))["id"])' "${accepted_answers[@]}" >"$T/accepted"

status=$(curl -s -D "$T/other.head" -o "$T/other.answer" -w '%{http_code}' --max-time 10 \
  -H 'Content-Type: application/octet-stream' --data-binary @"$T/body" "$R_URL/other")
expect_eq "$status" 503 "another channel while the relay holds --max-held of unread events"
expect_contains "$(tr -d '\r' <"$T/other.head")" $'\nRetry-After: ' "the 503 says when to retry"
expect_eq "$(grep -c 'refusing   all channels' "$T/R.err" || true)" 1 \
  "one terminal line when the relay starts refusing"

kill -CONT "$SLOW_PID"
accepted=$(wc -l <"$T/accepted")
wait_for 60 '[ "$(sse_message_count "$T/SLOW.sse")" -ge "$accepted" ]' ||
  fail "the subscriber got $(sse_message_count "$T/SLOW.sse") of the $accepted accepted events"
expect_eq "$(sse_message_ids "$T/SLOW.sse")" "$(cat "$T/accepted")" \
  "every accepted publish reached the subscriber, in order, once"

status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --data 'again' "$R_URL/other")
expect_eq "$status" 202 "the other channel after the subscriber caught up"
wait_for 10 'grep -q "accepting  all channels" "$T/R.err"' ||
  fail "no terminal line for accepting again"
stop_relay R
