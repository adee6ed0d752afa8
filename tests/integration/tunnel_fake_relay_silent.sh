#!/usr/bin/env bash
# A relay connection that goes silent (no events, no heartbeats: a dead network path
# that never closes) is noticed after --read-timeout: rag tunnel says so, reconnects and
# resumes after the last webhook it handled, instead of waiting forever.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

echo '[{"id": "m-1", "data": {"content-type": "text/plain", "body": {}, "query": {}, "timestamp": 1}}]' \
  >"$T/messages.json"
start_peer SINK sink
start_fake_relay FR "$T/messages.json" --ping-interval 600
start_tunnel tunnel "$FR_URL/chan" -f "$SINK_URL" --read-timeout 1s
wait_tunnel_connected tunnel 2
expect_contains "$(cat "$T/tunnel.err")" "Disconnected: nothing received for 1" \
  "the silent stream is reported"
fake_relay_records FR subscribe >"$T/subs.jsonl"
expect_eq "$(json_field "$T/subs.jsonl" 2 'r["last_event_id"]')" m-1 "resumed after the last one"
stop_tunnel tunnel
expect_eq "$(peer_count SINK)" 1 "the webhook arrived once"

rc=0
"$RAG" tunnel "$FR_URL/chan" --read-timeout 10ms >"$T/short.out" 2>"$T/short.err" || rc=$?
expect_eq "$rc" 2 "a read timeout that is too short"
expect_contains "$(cat "$T/short.err")" "invalid --read-timeout '10ms'" "its message"
