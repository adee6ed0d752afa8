#!/usr/bin/env bash
# rag relay + rag tunnel without --ordered: 30 webhooks published while the tunnel is
# stopped are caught up on in publish order at the target, one delivery in flight at a
# time (the target holds the first one: nothing else is sent to it meanwhile).
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
start_peer FIRST sink
start_tunnel first "$channel_url" -f "$FIRST_URL"
wait_tunnel_connected first
curl -sf -o /dev/null --data-binary '{"n":0}' "$channel_url/e/0" || fail "publish 0"
wait_for 10 '[ "$(peer_count FIRST)" -eq 1 ]' || fail "the first webhook did not arrive"
stop_tunnel first

for n in $(seq 1 30); do
  curl -sf -o /dev/null --data-binary "{\"n\":$n}" "$channel_url/e/$n" || fail "publish $n"
done

start_peer HOLD hold --hold-file "$T/release"
start_tunnel second "$channel_url" -f "$HOLD_URL"
wait_tunnel_connected second
wait_for 10 '[ "$(peer_count HOLD)" -ge 1 ]' || fail "the catch-up did not start"
sleep 1
expect_eq "$(peer_count HOLD)" 1 "one delivery in flight while the target holds the first"
touch "$T/release"
wait_for 20 '[ "$(peer_count HOLD)" -ge 30 ]' || fail "expected 30 webhooks, got $(peer_count HOLD)"
stop_tunnel second
order=$(python3 - "$T/HOLD.jsonl" <<'PY'
import json, sys
seen = [int(json.loads(l)["target"].rsplit("/", 1)[1]) for l in open(sys.argv[1])]
print("ok" if seen == list(range(1, 31)) else "out of order: %r" % seen)
PY
)
expect_eq "$order" ok "publish order at the target"
