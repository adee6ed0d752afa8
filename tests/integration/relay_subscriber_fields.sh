#!/usr/bin/env bash
# Who gets which fields (docs/relay-protocol.md): a subscriber that does not ask (curl
# here, smee-client in real life) gets exactly smee.io's fields; `?bodyB=1` and gosmee's
# client (User-Agent gosmee/..., also at gosmee's BASE/events/CHANNEL) get `bodyB` too;
# `Rag-Tunnel: 1` gets the `rag` object. One publish reaches each in its own form, and a
# resume with Last-Event-ID replays the backlog in each form.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
url="$R_URL/fields"
subscribe_sse PLAIN "$url"
subscribe_sse ASKED "$url?bodyB=1"
subscribe_sse GOSMEE "$url" -A 'gosmee/v0.32.0'
subscribe_sse EVENTS "$R_URL/events/fields" -A 'gosmee/v0.32.0'
subscribe_sse TUNNEL "$url" -H 'Rag-Tunnel: 1'
subscribe_sse BOTH "$url?bodyB=1" -H 'Rag-Tunnel: 1'
expect_contains "$(cat "$T/R.err")" "subscribe  fields  from 127.0.0.1:" "subscribe lines"
expect_contains "$(cat "$T/R.err")" "(rag, bodyB)" "the relay names what a subscriber gets"
ready=$(sse_ready_id "$T/PLAIN.sse")

publish() { # TARGET BODY: publish a GitHub-shaped webhook, print its event id
  curl -s -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' --data "$2" \
    "$url$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
first=$(publish '/gh?x=1' '{"n":1,"big":12345678901234567890123}')
names=(PLAIN ASKED GOSMEE EVENTS TUNNEL BOTH)
for name in "${names[@]}"; do
  wait_for 10 '[ "$(sse_message_count "$T/'"$name"'.sse")" -ge 1 ]' || fail "$name got no message"
done
# A POST to /events/CHANNEL is still a publish (to the channel `events`).
status=$(curl -s -o /dev/null -w '%{http_code}' --data 'x' "$R_URL/events/fields")
expect_eq "$status" 202 "a POST to /events/fields"

check_fields() { # NAME COUNT BODY_B RAG: every message of NAME's capture has the right fields
  sse_events "$T/$1.sse" | python3 -c '
import base64, json, sys
name, count, body_b, rag = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
messages = [(e["id"], json.loads(e["data"])) for e in map(json.loads, sys.stdin) if e["event"] == ""]
assert len(messages) == count, (name, len(messages))
for n, (event_id, m) in enumerate(messages, start=1):
    raw = b"{\"n\":%d,\"big\":12345678901234567890123}" % n
    assert m["body"] == json.loads(raw), (name, m["body"])
    assert m["x-github-event"] == "push" and isinstance(m["timestamp"], int), (name, m)
    assert ("bodyB" in m) == body_b, (name, sorted(m))
    assert ("rag" in m) == rag, (name, sorted(m))
    if body_b:
        assert base64.b64decode(m["bodyB"]) == raw, name
    if rag:
        assert m["rag"]["id"] == event_id and base64.b64decode(m["rag"]["body_b64"]) == raw, name
' "$1" "$2" "$3" "$4" || fail "the messages $1 got"
}
check_fields PLAIN 1 0 0
check_fields ASKED 1 1 0
check_fields GOSMEE 1 1 0
check_fields EVENTS 1 1 0
check_fields TUNNEL 1 0 1
check_fields BOTH 1 1 1
# smee's `body` is the JSON as sent: the big number keeps its digits.
expect_contains "$(cat "$T/PLAIN.sse")" '"body":{"n":1,"big":12345678901234567890123}' \
  "the body spliced as sent"

# Two more while nobody listens, then every kind resumes from the first ready id.
for name in "${names[@]}"; do
  kill "$(eval echo "\$${name}_PID")"
done
second=$(publish '/gh' '{"n":2,"big":12345678901234567890123}')
third=$(publish '/gh' '{"n":3,"big":12345678901234567890123}')
subscribe_sse PLAIN "$url" -H "Last-Event-ID: $ready"
subscribe_sse ASKED "$url?bodyB=1" -H "Last-Event-ID: $ready"
subscribe_sse GOSMEE "$url" -A 'gosmee/v0.32.0' -H "Last-Event-ID: $ready"
subscribe_sse EVENTS "$R_URL/events/fields" -A 'gosmee/v0.32.0' -H "Last-Event-ID: $ready"
subscribe_sse TUNNEL "$url" -H 'Rag-Tunnel: 1' -H "Last-Event-ID: $ready"
subscribe_sse BOTH "$url?bodyB=1" -H 'Rag-Tunnel: 1' -H "Last-Event-ID: $ready"
for name in "${names[@]}"; do
  wait_for 10 '[ "$(sse_message_count "$T/'"$name"'.sse")" -ge 3 ]' ||
    fail "$name resumed with $(sse_message_count "$T/$name.sse") of 3"
  expect_eq "$(sse_message_ids "$T/$name.sse" | tr '\n' ' ')" "$first $second $third " \
    "$name's resumed ids"
done
check_fields PLAIN 3 0 0
check_fields ASKED 3 1 0
check_fields GOSMEE 3 1 0
check_fields EVENTS 3 1 0
check_fields TUNNEL 3 0 1
check_fields BOTH 3 1 1
stop_relay R
