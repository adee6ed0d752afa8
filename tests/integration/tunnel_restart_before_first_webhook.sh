#!/usr/bin/env bash
# rag relay + rag tunnel: a tunnel that connected and received nothing is stopped, 3
# webhooks are published (the relay answers 202), the tunnel is started again: it
# resumes from where the first run connected (the `ready` id, kept in the state file
# tunnel/CHANNEL.json beside the log), and all 3 reach the target, in order.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
start_peer SINK sink
state="$T/tunnel/${channel_url//[^A-Za-z0-9.-]/_}.json"

start_tunnel first "$channel_url" -f "$SINK_URL"
wait_tunnel_connected first
wait_for 10 '[ -f "$state" ]' || fail "no state file $state after connecting"
expect_eq "$(stat -c %a "$T/tunnel")" 700 "the state directory is private"
ready_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resume_id"])' "$state")
expect_contains "$ready_id" "evt_" "the state file holds the relay's position"
stop_tunnel first
expect_eq "$(log_events)" 0 "the first run received nothing"

for n in 1 2 3; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "{\"n\":$n}" "$channel_url/e/$n")
  expect_eq "$code" 202 "publish $n"
done

start_tunnel second "$channel_url" -f "$SINK_URL"
wait_tunnel_connected second
expect_contains "$(cat "$T/second.err")" "(resuming after $ready_id)" "resumed from the state file"
wait_for 20 '[ "$(peer_count SINK)" -ge 3 ]' || fail "expected 3 webhooks, got $(peer_count SINK)"
stop_tunnel second
expect_eq "$(peer_count SINK)" 3 "each webhook once"
for n in 1 2 3; do
  expect_eq "$(json_field "$T/SINK.jsonl" "$n" 'r["target"]')" "/e/$n" "order at the target"
done
expect_contains "$(cat "$T/second.err")" "Stopped. 3 webhook(s) received this session." \
  "the restarted tunnel received the 3"
last_relay_id=$(grep '"kind":"event"' "$RAG_LOG" | tail -n 1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["relay_id"])')
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resume_id"])' "$state")" \
  "$last_relay_id" "the state file moved on to the last webhook"
expect_not_contains "$(cat "$T/second.err")" "warning" "no warning"
