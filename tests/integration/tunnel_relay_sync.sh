#!/usr/bin/env bash
# Sync mode end to end: rag relay --sync-timeout holds the sender, rag tunnel
# --respond-back forwards to the local service and posts its answer back (with the
# relay's token), and the sender gets the local status, headers and body. A local
# service that is down gives the sender the tunnel's 502.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

RAG_RELAY_TOKEN=s3cret start_relay R --sync-timeout 20s
channel_url=$(new_channel "$R_URL")
status=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Accept: text/event-stream' "$channel_url")
expect_eq "$status" 401 "the relay wants a token to subscribe"
start_peer LOCAL sink --status 201 --body '{"created":true}' \
  --header Content-Type:application/json --header X-Local:yes
start_tunnel tunnel "$channel_url" --route "/orders=$LOCAL_URL" --route /down=127.0.0.1:9 \
  --respond-back --token s3cret
wait_tunnel_connected tunnel

status=$(curl -s -D "$T/sender.head" -o "$T/sender.body" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data '{"order":42}' "$channel_url/orders/42")
expect_eq "$status" 201 "the sender gets the local status"
expect_eq "$(cat "$T/sender.body")" '{"created":true}' "the sender gets the local body"
expect_contains "$(tr -d '\r' <"$T/sender.head")" "X-Local: yes" "the local headers"
expect_eq "$(json_field "$T/LOCAL.jsonl" 1 'r["target"]')" /42 "the local service got it"

status=$(curl -s -o "$T/down.body" -w '%{http_code}' --data '{}' "$channel_url/down")
expect_eq "$status" 502 "a local service that is down"
expect_contains "$(cat "$T/down.body")" "connection refused" "the 502 says why"
stop_tunnel tunnel
expect_not_contains "$(cat "$T/tunnel.err")" "warning" "no warnings"
