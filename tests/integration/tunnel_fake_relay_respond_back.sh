#!/usr/bin/env bash
# rag tunnel --respond-back posts the local service's answer (status, headers, body) to
# the message's reply path on the relay, with the token; a reply "path" that is an
# absolute or scheme-relative URL is refused with a warning and nothing is sent there:
# a relay cannot make the tunnel call anything but its own targets and the relay.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

start_peer LOCAL sink --status 201 --body created --header X-Local:yes
start_peer EVIL sink
evil_hostport=${EVIL_URL#http://}
python3 - "$T/messages.json" "$EVIL_URL" "$evil_hostport" <<'PY'
import base64, json, sys
replies = ["/_rag/reply/chan/%s", sys.argv[2] + "/steal", "//" + sys.argv[3] + "/steal"]
messages = []
for n, reply in enumerate(replies, start=1):
    rag_id = "evt_01KAF2J9Z%d%s" % (n, "0" * 16)
    rag = {"v": 1, "id": rag_id, "time": "2026-11-26T06:45:27.123456Z", "method": "POST",
           "target": "/order/%d" % n, "http_version": "HTTP/1.1",
           "headers": [["Content-Type", "text/plain"]],
           "body_b64": base64.b64encode(b"hi").decode(), "remote": "192.0.2.1:1000",
           "reply": reply.replace("%s", rag_id)}
    messages.append({"id": rag_id, "data": {"content-type": "text/plain", "body": {},
                                            "query": {}, "timestamp": 1, "rag": rag}})
json.dump(messages, open(sys.argv[1], "w"))
PY
start_fake_relay FR "$T/messages.json"
start_tunnel tunnel "$FR_URL/chan" -f "$LOCAL_URL" --respond-back --token tk
wait_tunnel_connected tunnel
wait_for 10 '[ "$(peer_count LOCAL)" -eq 3 ]' || fail "expected 3 webhooks at the local target"
wait_for 10 '[ "$(fake_relay_records FR reply | wc -l)" -ge 1 ]' || fail "no reply posted"
stop_tunnel tunnel

fake_relay_records FR reply >"$T/replies.jsonl"
expect_eq "$(wc -l <"$T/replies.jsonl")" 1 "replies posted"
first_id="evt_01KAF2J9Z1$(printf '0%.0s' {1..16})"
expect_eq "$(json_field "$T/replies.jsonl" 1 'r["path"]')" "/_rag/reply/chan/$first_id" \
  "reply path"
expect_eq "$(json_field "$T/replies.jsonl" 1 'r["content_type"]')" application/json \
  "reply content type"
expect_eq "$(json_field "$T/replies.jsonl" 1 'r["authorization"]')" "Bearer tk" "reply token"
expect_eq "$(json_field "$T/replies.jsonl" 1 '__import__("json").loads(r["body"])["status"]')" \
  201 "the local status"
expect_eq "$(json_field "$T/replies.jsonl" 1 \
  '__import__("base64").b64decode(__import__("json").loads(r["body"])["body_b64"]).decode()')" \
  created "the local body"
expect_eq "$(json_field "$T/replies.jsonl" 1 \
  '["X-Local", "yes"] in __import__("json").loads(r["body"])["headers"]')" True \
  "the local headers"
expect_eq "$(peer_count EVIL)" 0 "requests to the URL a relay named"
err=$(cat "$T/tunnel.err")
expect_contains "$err" "refusing reply path '$EVIL_URL/steal'" "absolute URL refused"
expect_contains "$err" "refusing reply path '//$evil_hostport/steal'" \
  "scheme-relative URL refused"
