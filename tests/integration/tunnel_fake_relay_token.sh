#!/usr/bin/env bash
# rag tunnel without a channel URL asks --relay for one (GET /new, 307) and prints it;
# a relay that wants a token and does not get it is a clear error and exit 1 (not
# retried forever); the token from --token or RAG_RELAY_TOKEN goes as a bearer token.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

echo '[{"id": "m-1", "data": {"content-type": "text/plain", "body": {}, "query": {}, "timestamp": 1}}]' \
  >"$T/messages.json"
start_peer SINK sink
start_fake_relay FR "$T/messages.json" --token s3cret

# No token: the new channel is shown, then the refusal ends the tunnel with exit 1.
rc=0
timeout 20 "$RAG" tunnel --relay "$FR_URL/" -f "$SINK_URL" >"$T/none.out" 2>"$T/none.err" ||
  rc=$?
expect_eq "$rc" 1 "exit code without a token"
err=$(cat "$T/none.err")
expect_contains "$err" "New channel: $FR_URL/channel-1" "the new channel is printed"
expect_contains "$err" "Forwarding $FR_URL/channel-1 to $SINK_URL" "banner"
expect_contains "$err" "rag: error: $FR_URL/channel-1 refused the subscription: the relay answered 401" \
  "refusal message"
expect_contains "$err" "pass --token or set RAG_RELAY_TOKEN" "hint"
expect_eq "$(fake_relay_records FR subscribe | wc -l)" 1 "a refused token is not retried"

# A wrong token is refused the same way.
rc=0
timeout 20 "$RAG" tunnel "$FR_URL/channel-1" --token wrong -f "$SINK_URL" \
  >"$T/wrong.out" 2>"$T/wrong.err" || rc=$?
expect_eq "$rc" 1 "exit code with a wrong token"
expect_contains "$(cat "$T/wrong.err")" "check --token / RAG_RELAY_TOKEN" "hint for a wrong token"

# The token from the environment is sent as a bearer token and the stream flows.
RAG_RELAY_TOKEN=s3cret start_tunnel tunnel "$FR_URL/channel-1" -f "$SINK_URL"
wait_tunnel_connected tunnel
wait_for 10 '[ "$(peer_count SINK)" -eq 1 ]' || fail "the webhook did not arrive"
fake_relay_records FR subscribe >"$T/subs.jsonl"
expect_eq "$(json_field "$T/subs.jsonl" 1 'r["path"]')" /channel-1 "path of the new channel"
expect_eq "$(json_field "$T/subs.jsonl" 3 'r["authorization"]')" "Bearer s3cret" \
  "bearer token"
stop_tunnel tunnel
