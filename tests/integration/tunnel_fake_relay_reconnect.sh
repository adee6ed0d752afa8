#!/usr/bin/env bash
# A relay that drops the stream mid-way and then sends everything again (ignoring
# Last-Event-ID): rag tunnel reports the drop, reconnects quickly with the last handled
# id as Last-Event-ID, skips the repeats, and every webhook reaches the target once, in
# order.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

python3 - "$T/messages.json" <<'PY'
import base64, json, sys
messages = []
for n in range(1, 6):
    rag_id = "evt_01KAF2J9Z%d%s" % (n, "0" * 16)
    body = json.dumps({"n": n}).encode()
    rag = {"v": 1, "id": rag_id, "time": "2026-11-26T06:45:27.123456Z", "method": "POST",
           "target": "/hook/%d" % n, "http_version": "HTTP/1.1",
           "headers": [["Content-Type", "application/json"]],
           "body_b64": base64.b64encode(body).decode(), "remote": "192.0.2.1:1000"}
    messages.append({"id": rag_id, "data": {"content-type": "application/json",
                                            "body": {"n": n}, "query": {}, "timestamp": 1,
                                            "rag": rag}})
json.dump(messages, open(sys.argv[1], "w"))
PY

start_peer SINK sink
start_fake_relay FR "$T/messages.json" --close-after 3 --ignore-last-id
start_tunnel tunnel "$FR_URL/chan" -f "$SINK_URL" --ordered
wait_tunnel_connected tunnel 2
wait_for 10 '[ "$(peer_count SINK)" -ge 5 ]' || fail "expected 5 webhooks at the target"

fake_relay_records FR subscribe >"$T/subs.jsonl"
expect_eq "$(json_field "$T/subs.jsonl" 2 'r["last_event_id"]')" \
  "evt_01KAF2J9Z3$(printf '0%.0s' {1..16})" "Last-Event-ID after the drop"
err=$(cat "$T/tunnel.err")
expect_contains "$err" "Disconnected: the relay closed the stream." "drop reported"
expect_contains "$err" "Reconnecting in 0." "first reconnect is fast"
expect_contains "$err" "(resuming after evt_01KAF2J9Z3" "resume reported"
stop_tunnel tunnel
expect_contains "$(cat "$T/tunnel.err")" "5 webhook(s) received this session (3 repeat(s) skipped)" \
  "summary"
expect_eq "$(peer_count SINK)" 5 "webhooks at the target"
for n in 1 2 3 4 5; do
  expect_eq "$(json_field "$T/SINK.jsonl" "$n" 'r["target"]')" "/hook/$n" "order at the target"
done
expect_eq "$(log_events)" 5 "events in the log"
