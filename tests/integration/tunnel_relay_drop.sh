#!/usr/bin/env bash
# rag relay + rag tunnel through a TCP proxy: the proxy dies (the tunnel's connection is
# cut on the relay side), 20 webhooks are published, the proxy comes back on the same
# port: the tunnel shows the drop, reconnects with backoff, resumes with Last-Event-ID,
# and all 20 reach the target once each, in order.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
channel=${channel_url##*/}
start_tcp_proxy PROXY "$R_PORT"
via_port=$PROXY_PORT
start_peer SINK sink
start_tunnel tunnel "http://127.0.0.1:$via_port/$channel" -f "$SINK_URL" --ordered
wait_tunnel_connected tunnel
curl -sf -o /dev/null --data-binary '{"n":0}' "$channel_url/e/0" || fail "publish 0"
wait_for 10 '[ "$(peer_count SINK)" -eq 1 ]' || fail "the first webhook did not arrive"

kill -9 "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
wait_for 10 'grep -q "^Disconnected: " "$T/tunnel.err"' || fail "the drop was not shown"
for n in $(seq 1 20); do
  curl -sf -o /dev/null --data-binary "{\"n\":$n}" "$channel_url/e/$n" || fail "publish $n"
done
wait_for 10 'grep -q "^Cannot connect to the relay: " "$T/tunnel.err"' ||
  fail "the failed reconnect was not shown"
expect_eq "$(peer_count SINK)" 1 "nothing arrives while the relay is unreachable"

# A name of its own: start_tcp_proxy waits for "listening on" in $T/NAME.out, which the
# first proxy's output would satisfy before the new one truncates the file.
start_tcp_proxy PROXY_AGAIN "$R_PORT" "$via_port"
wait_tunnel_connected tunnel 2
wait_for 30 '[ "$(peer_count SINK)" -ge 21 ]' || fail "expected 21 webhooks, got $(peer_count SINK)"
stop_tunnel tunnel
expect_eq "$(peer_count SINK)" 21 "each webhook once"
for n in $(seq 0 20); do
  expect_eq "$(json_field "$T/SINK.jsonl" $((n + 1)) 'r["target"]')" "/e/$n" "order at the target"
done
err=$(cat "$T/tunnel.err")
expect_contains "$err" "Reconnecting in" "backoff shown"
expect_contains "$err" "(resuming after evt_" "resume shown"
expect_contains "$err" "Stopped. 21 webhook(s) received this session." "summary"
