#!/usr/bin/env bash
# Last-Event-ID resume: a subscriber that was gone while 20 webhooks were published,
# reconnecting with the id of its earlier `ready`, receives all 20, in order, once, then
# live ones; with the id of the 10th it receives the last 10.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url="$R_URL/resume-test"

subscribe_sse FIRST "$channel_url"
ready_id=$(sse_ready_id "$T/FIRST.sse")
kill "$FIRST_PID"

sent=()
for i in $(seq 1 20); do
  id=$(curl -s -H 'Content-Type: application/json' --data "{\"n\":$i}" "$channel_url" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  sent+=("$id")
done

subscribe_sse AGAIN "$channel_url" -H "Last-Event-ID: $ready_id" -H 'Rag-Tunnel: 1'
wait_for 10 '[ "$(sse_message_count "$T/AGAIN.sse")" -ge 20 ]' || fail "resume got $(sse_message_count "$T/AGAIN.sse") of 20"
expect_eq "$(sse_ready_id "$T/AGAIN.sse")" "$ready_id" \
  "the ready event of a resumed stream carries the resume point"
got=$(sse_events "$T/AGAIN.sse" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "":
        m = json.loads(e["data"])
        print(e["id"], m["body"]["n"], m["rag"]["id"])')
expected=""
for i in $(seq 1 20); do
  expected+="${sent[$((i - 1))]} $i ${sent[$((i - 1))]}"$'\n'
done
expect_eq "$got" "${expected%$'\n'}" "the 20 missed events, in order, once"
expect_not_contains "$(cat "$T/AGAIN.sse")" "event: gap" "no gap warning when nothing was lost"

# Live events follow the replay on the same stream.
live=$(curl -s --data 'live' "$channel_url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
wait_for 10 '[ "$(sse_message_count "$T/AGAIN.sse")" -ge 21 ]' || fail "no live event after the replay"
mapfile -t ids < <(sse_message_ids "$T/AGAIN.sse")
expect_eq "${ids[20]}" "$live" "live event after the replay"
sleep 0.3
expect_eq "$(sse_message_count "$T/AGAIN.sse")" 21 "nothing twice"

# From the middle.
subscribe_sse MIDDLE "$channel_url" -H "Last-Event-ID: ${sent[9]}"
wait_for 10 '[ "$(sse_message_count "$T/MIDDLE.sse")" -ge 11 ]' || fail "resume from the 10th"
mapfile -t ids < <(sse_message_ids "$T/MIDDLE.sse")
expect_eq "${ids[*]}" "${sent[*]:10} $live" "resume from the 10th: the 11th to the 20th, then the live one"

stop_relay R
