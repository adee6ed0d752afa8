#!/usr/bin/env bash
# rag relay restarts under a connected rag tunnel with nothing published meanwhile: the
# tunnel says so and does not warn that webhooks were lost. Then webhooks really are
# lost (published while the tunnel is stopped, then the relay restarts): the tunnel that
# resumes warns.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_relay R
port=$R_PORT
channel_url=$(new_channel "$R_URL")
start_peer SINK sink
start_tunnel first "$channel_url" -f "$SINK_URL"
wait_tunnel_connected first
curl -sf -o /dev/null --data-binary '{"n":1}' "$channel_url/e/1" || fail "publish 1"
wait_for 10 '[ "$(peer_count SINK)" -eq 1 ]' || fail "the first webhook did not arrive"

stop_relay R
wait_for 10 'grep -q "^Cannot connect to the relay: " "$T/first.err"' ||
  fail "the tunnel did not notice the relay was gone"
start_rag_server R2 "rag relay (R2)" relay --listen "127.0.0.1:$port"
wait_tunnel_connected first 2
wait_for 10 'grep -q "^The relay restarted" "$T/first.err"' ||
  fail "no restart line: $(cat "$T/first.err")"
expect_not_contains "$(cat "$T/first.err")" "lost webhooks" "no warning without a loss"
curl -sf -o /dev/null --data-binary '{"n":2}' "$channel_url/e/2" || fail "publish 2"
wait_for 10 '[ "$(peer_count SINK)" -eq 2 ]' || fail "the webhook after the restart did not arrive"
stop_tunnel first

# Published while no tunnel reads, then gone with the relay.
curl -sf -o /dev/null --data-binary '{"n":3}' "$channel_url/e/3" || fail "publish 3"
stop_relay R2
start_rag_server R3 "rag relay (R3)" relay --listen "127.0.0.1:$port"
start_tunnel second "$channel_url" -f "$SINK_URL"
wait_tunnel_connected second
wait_for 10 'grep -q "rag: warning: the relay lost webhooks after evt_" "$T/second.err"' ||
  fail "no warning for a real loss: $(cat "$T/second.err")"
stop_tunnel second
expect_eq "$(peer_count SINK)" 2 "the lost webhook never arrived"
