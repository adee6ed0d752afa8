#!/usr/bin/env bash
# rag relay + rag tunnel: the tunnel is stopped, 20 webhooks are published, the tunnel is
# started again: it resumes after the newest relay id in its log (Last-Event-ID), and
# all 20 reach the target once each, in order.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_relay R
channel_url=$(new_channel "$R_URL")
start_peer SINK sink
start_tunnel first "$channel_url" -f "$SINK_URL" --ordered
wait_tunnel_connected first
curl -sf -o /dev/null --data-binary '{"n":0}' "$channel_url/e/0" || fail "publish 0"
wait_for 10 '[ "$(peer_count SINK)" -eq 1 ]' || fail "the first webhook did not arrive"
stop_tunnel first

for n in $(seq 1 20); do
  curl -sf -o /dev/null --data-binary "{\"n\":$n}" "$channel_url/e/$n" || fail "publish $n"
done
expect_eq "$(peer_count SINK)" 1 "nothing arrives while the tunnel is stopped"

start_tunnel second "$channel_url" -f "$SINK_URL" --ordered
wait_tunnel_connected second
expect_contains "$(cat "$T/second.err")" "(resuming after evt_" "resume point shown"
wait_for 20 '[ "$(peer_count SINK)" -ge 21 ]' || fail "expected 21 webhooks, got $(peer_count SINK)"
stop_tunnel second
expect_eq "$(peer_count SINK)" 21 "each webhook once"
for n in $(seq 0 20); do
  expect_eq "$(json_field "$T/SINK.jsonl" $((n + 1)) 'r["target"]')" "/e/$n" "order at the target"
done
expect_contains "$(cat "$T/second.err")" "Stopped. 20 webhook(s) received this session." \
  "the restarted tunnel received the 20"
expect_eq "$(log_events)" 21 "events in the log"
