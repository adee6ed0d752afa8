#!/usr/bin/env bash
# A relay message whose smee `body` is nested 50000 deep (and a `gap` event as deep) used
# to kill `rag tunnel`: it serialised the parsed body again, recursing once per level
# (issue 12, item 14). A fake relay stands in for a hostile or broken one: the message is
# skipped with a warning, the connection stays up, and the next message is captured and
# forwarded.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

python3 - "$T/messages.json" <<'PY'
import json, sys
deep = "[" * 50000 + "]" * 50000
json.dump([
    {"id": "0001-deep",
     "data": '{"content-type":"application/json","x-github-event":"push","body":' + deep +
             ',"query":{},"timestamp":1795671123456}'},
    {"event": "gap", "data": '{"after":' + deep + ',"message":"x"}'},
    {"id": "0002-next",
     "data": {"content-type": "application/json", "x-github-event": "push",
              "body": {"ok": True}, "query": {}, "timestamp": 1795671123457}},
], open(sys.argv[1], "w"))
PY

start_peer SINK sink
start_fake_relay FR "$T/messages.json"
start_tunnel TUN "$FR_URL/chan-deep" -f "$SINK_URL"
wait_tunnel_connected TUN
wait_for 15 '[ "$(peer_count SINK)" -ge 1 ]' || fail "the message after the deep one did not arrive"
kill -0 "$TUN_PID" 2>/dev/null || fail "the tunnel died"
expect_eq "$(json_field "$T/SINK.jsonl" 1 \
  '__import__("base64").b64decode(r["body_b64"]).decode()')" '{"ok":true}' "the next body"
expect_contains "$(cat "$T/TUN.err")" "skipped a message that is not a webhook (0001-deep)" \
  "the warning for the deep message"
expect_contains "$(cat "$T/TUN.err")" "the relay lost webhooks after ?" "the deep gap event"
expect_eq "$(tunnel_connections TUN)" 1 "the tunnel stayed connected"
stop_tunnel TUN
expect_contains "$(cat "$T/TUN.err")" "Stopped. 1 webhook(s) received" "summary"
expect_eq "$(log_events)" 1 "events in the log"
expect_eq "$(json_field "$RAG_LOG" 1 'r["relay_id"]')" 0002-next "the captured event"
