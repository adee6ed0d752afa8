#!/usr/bin/env bash
# Sync mode: the sender is held until a tunnel posts the local answer to the message's
# `reply` path, then gets that status, headers (hop-by-hop dropped) and body; the first
# reply wins (204, later ones 409); with no reply in time the sender gets 504 with a JSON
# error naming the event, and a late reply gets 404. SIGTERM releases held senders.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R --sync-timeout 20s
url="$R_URL/sync-chan"
subscribe_sse TUNNEL "$url" -H 'Rag-Tunnel: 1'

# The sender, held by the relay.
curl -s -D "$T/sender.head" -o "$T/sender.body" -H 'Content-Type: application/json' \
  --data '{"order":42}' "$url/orders" &
sender=$!
wait_for 10 '[ "$(sse_message_count "$T/TUNNEL.sse")" -ge 1 ]' || fail "the tunnel got no message"
kill -0 "$sender" 2>/dev/null || fail "the sender was answered before the tunnel replied"

# The fake tunnel reads the message and posts the local service's answer.
sse_events "$T/TUNNEL.sse" | grep '"event": ""' >"$T/messages.jsonl"
reply_path=$(json_field "$T/messages.jsonl" 1 'json.loads(r["data"])["rag"]["reply"]')
event_id=$(json_field "$T/messages.jsonl" 1 'r["id"]')
expect_eq "$reply_path" "/_rag/reply/sync-chan/$event_id" "reply path in the message"
body_b64=$(printf '{"created":true}' | base64 -w0)
reply="{\"status\":201,\"headers\":[[\"Content-Type\",\"application/json\"],[\"X-From\",\"local\"],\
[\"Connection\",\"keep-alive\"],[\"Transfer-Encoding\",\"chunked\"],[\"X-Multi\",\"1\"],[\"X-Multi\",\"2\"]],\
\"body_b64\":\"$body_b64\"}"
status=$(curl -s -o /dev/null -w '%{http_code}' --data "$reply" "$R_URL$reply_path")
expect_eq "$status" 204 "the first reply is taken"
wait "$sender" || fail "the sender's curl failed"
expect_contains "$(head -n 1 "$T/sender.head")" "201" "the sender gets the local status"
head=$(tr -d '\r' <"$T/sender.head")
expect_contains "$head" "X-From: local" "the sender gets the local headers"
expect_contains "$head" $'X-Multi: 1\nX-Multi: 2' "repeated headers in order"
expect_contains "$head" "Rag-Event-Id: $event_id" "the event id"
expect_not_contains "$head" "keep-alive" "hop-by-hop headers dropped"
expect_not_contains "$head" "chunked" "hop-by-hop headers dropped"
expect_eq "$(cat "$T/sender.body")" '{"created":true}' "the sender gets the local body"
status=$(curl -s -o "$T/dup.body" -w '%{http_code}' --data "$reply" "$R_URL$reply_path")
expect_eq "$status" 409 "a second reply conflicts"
status=$(curl -s -o "$T/bad.body" -w '%{http_code}' --data '{"status":"ok"}' "$R_URL$reply_path")
expect_eq "$status" 400 "a malformed reply is refused"
expect_contains "$(cat "$T/bad.body")" "status" "the 400 names the field"
status=$(curl -s -o /dev/null -w '%{http_code}' --data '{"status":200}' \
  "$R_URL/_rag/reply/sync-chan/evt_01KAF2J9ZC4M7T2S5XG1V9ARQD")
expect_eq "$status" 404 "a reply for an unknown event"

# SIGTERM while a sender is held: it gets an answer and the relay exits 0.
curl -s -o "$T/held.body" -w '%{http_code}' --data 'x' "$url" >"$T/held.status" &
held=$!
wait_for 10 '[ "$(sse_message_count "$T/TUNNEL.sse")" -ge 2 ]' || fail "second message"
stop_relay R
wait "$held" || true
expect_eq "$(cat "$T/held.status")" 503 "a held sender when the relay stops"

# No reply in time: 504 with the event id; a late reply finds nobody.
start_relay Q --sync-timeout 300ms
subscribe_sse SILENT "$Q_URL/quiet"
status=$(curl -s -D "$T/late.head" -o "$T/late.body" -w '%{http_code}' --data 'x' "$Q_URL/quiet")
expect_eq "$status" 504 "no reply in time"
late_id=$(tr -d '\r' <"$T/late.head" | sed -n 's/^Rag-Event-Id: //p')
[[ "$late_id" =~ ^evt_ ]] || fail "504 carries no Rag-Event-Id"
expect_contains "$(cat "$T/late.body")" "\"id\":\"$late_id\"" "504 body names the event"
expect_contains "$(cat "$T/late.body")" '"error":"no tunnel replied within' "504 body says why"
status=$(curl -s -o /dev/null -w '%{http_code}' --data '{"status":200}' \
  "$Q_URL/_rag/reply/quiet/$late_id")
expect_eq "$status" 404 "a late reply"
# The event is still held for subscribers that resume.
subscribe_sse RESUMED "$Q_URL/quiet" -H "Last-Event-ID: $(sse_ready_id "$T/SILENT.sse")"
wait_for 10 '[ "$(sse_message_count "$T/RESUMED.sse")" -eq 1 ]' || fail "the timed-out event is held"
stop_relay Q
