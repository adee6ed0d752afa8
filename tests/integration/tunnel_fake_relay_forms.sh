#!/usr/bin/env bash
# rag tunnel reads the three message forms a relay can send (a fake relay stands in for
# smee.io, which tests cannot reach): smee.io's (headers as lower-cased keys, the parsed
# `body`, `query`), gosmee's (`bodyB`: the raw bytes) and rag's (the `rag` object:
# byte-exact). Each is captured with source tunnel:URL and its relay id, and reaches the
# local target as the relay carried it. A restart resumes after the newest relay id in
# the log (Last-Event-ID) and repeats nothing.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

python3 - "$T/messages.json" <<'PY'
import base64, json, sys
binary = bytes([0, 1, 2, 255, 13, 10]) + b"tail\x00"
raw = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03binary\x00\xff\r\n"
smee = {"host": "smee.io", "content-type": "application/json", "x-github-event": "push",
        "x-hub-signature-256": "sha256=abc", "content-length": "31",
        "body": {"zen": "Keep it logically awesome.", "n": [1, True, None]},
        "query": {"a": "1", "b": "x y"}, "timestamp": 1795671123456}
gosmee = {"host": "gosmee.example", "content-type": "application/octet-stream",
          "x-custom": "v", "body": {}, "query": {}, "timestamp": 1795671123456,
          "bodyB": base64.b64encode(binary).decode()}
headers = [["Host", "relay.example"], ["Content-Type", "application/octet-stream"],
           ["Content-Encoding", "gzip"], ["X-Zeta", "1"], ["x-alpha", ""], ["X-Dup", "a"],
           ["x-dup", "b"], ["Content-Length", str(len(raw))]]
rag_id = "evt_01KAF2J9ZC4M7T2S5XG1V9ARQD"
rag = {"host": "relay.example", "content-type": "application/octet-stream",
       "content-encoding": "gzip", "x-zeta": "1", "x-alpha": "", "x-dup": "a, b",
       "content-length": str(len(raw)), "body": {}, "query": {"q": "a b"},
       "timestamp": 1795671123456, "bodyB": base64.b64encode(raw).decode(),
       "rag": {"v": 1, "id": rag_id, "time": "2026-11-26T06:45:27.123456Z", "method": "PUT",
               "target": "/hooks/x?q=a+b&r=%20", "http_version": "HTTP/1.1",
               "headers": headers, "body_b64": base64.b64encode(raw).decode(),
               "remote": "203.0.113.9:5555"}}
json.dump([{"data": smee}, {"id": "0001-gosmee", "data": gosmee}, {"id": rag_id, "data": rag}],
          open(sys.argv[1], "w"))
PY
rag_id=evt_01KAF2J9ZC4M7T2S5XG1V9ARQD

start_peer SINK sink
start_fake_relay FR "$T/messages.json"
channel="$FR_URL/chan-1"
start_tunnel tunnel "$channel" -f "$SINK_URL" --ordered
wait_tunnel_connected tunnel
wait_for 10 '[ "$(peer_count SINK)" -eq 3 ]' || fail "expected 3 webhooks at the target"

# smee: the body is the parsed JSON serialised again; the query becomes the target.
expect_eq "$(json_field "$T/SINK.jsonl" 1 'r["method"]')" POST "smee method"
expect_eq "$(json_field "$T/SINK.jsonl" 1 'r["target"]')" "/?a=1&b=x+y" "smee target"
expect_eq "$(json_field "$T/SINK.jsonl" 1 \
  '__import__("base64").b64decode(r["body_b64"]).decode()')" \
  '{"zen":"Keep it logically awesome.","n":[1,true,null]}' "smee body"
expect_eq "$(json_field "$T/SINK.jsonl" 1 \
  '[v for n, v in r["headers"] if n == "x-github-event"]')" "['push']" "smee header"
expect_eq "$(json_field "$T/SINK.jsonl" 1 \
  '[v for n, v in r["headers"] if n == "X-Forwarded-Host"]')" "['smee.io']" \
  "the relay's host as X-Forwarded-Host"
# gosmee: bodyB's raw bytes.
expect_eq "$(json_field "$T/SINK.jsonl" 2 'r["body_b64"]')" "AAEC/w0KdGFpbAA=" "gosmee body"
# rag: method, raw target, header order and case, duplicates, empty value, body bytes.
expect_eq "$(json_field "$T/SINK.jsonl" 3 'r["method"]')" PUT "rag method"
expect_eq "$(json_field "$T/SINK.jsonl" 3 'r["target"]')" "/hooks/x?q=a+b&r=%20" "rag target"
expect_eq "$(json_field "$T/SINK.jsonl" 3 \
  '__import__("base64").b64decode(r["body_b64"]).hex()')" \
  1f8b080000000000000362696e61727900ff0d0a "rag body bytes"
expect_eq "$(json_field "$T/SINK.jsonl" 3 \
  '[[n, v] for n, v in r["headers"] if not n.startswith("X-Forwarded") and n != "Host"]')" \
  "[['Content-Type', 'application/octet-stream'], ['Content-Encoding', 'gzip'], ['X-Zeta', '1'], ['x-alpha', ''], ['X-Dup', 'a'], ['x-dup', 'b'], ['Content-Length', '20']]" \
  "rag headers in order"
expect_eq "$(json_field "$T/SINK.jsonl" 3 '[n for n, v in r["headers"]][0]')" Host \
  "Host stays first"
expect_eq "$(json_field "$T/SINK.jsonl" 3 \
  '[v for n, v in r["headers"] if n == "X-Forwarded-For"]')" "['203.0.113.9']" \
  "the sender's address as X-Forwarded-For"

# The log: source tunnel:URL, relay ids, the rag event's sender and exact body.
expect_eq "$(log_events)" 3 "events in the log"
events=$(grep '"kind":"event"' "$RAG_LOG")
echo "$events" >"$T/captured.jsonl"
for n in 1 2 3; do
  expect_eq "$(json_field "$T/captured.jsonl" "$n" 'r["source"]')" "tunnel:$channel" "source $n"
done
expect_eq "$(json_field "$T/captured.jsonl" 1 'r.get("relay_id", "")')" "" "smee relay id"
expect_eq "$(json_field "$T/captured.jsonl" 2 'r["relay_id"]')" 0001-gosmee "gosmee relay id"
expect_eq "$(json_field "$T/captured.jsonl" 3 'r["relay_id"]')" "$rag_id" "rag relay id"
expect_eq "$(json_field "$T/captured.jsonl" 3 'r["remote"]')" 203.0.113.9:5555 "rag remote"
expect_eq "$(json_field "$T/captured.jsonl" 3 'r["body_size"]')" 20 "rag body size"

# The subscription asked for an event stream, with nothing to resume from yet.
fake_relay_records FR subscribe >"$T/subs.jsonl"
expect_eq "$(json_field "$T/subs.jsonl" 1 'r["accept"]')" text/event-stream "Accept"
expect_eq "$(json_field "$T/subs.jsonl" 1 'r["last_event_id"]')" None "first Last-Event-ID"
expect_eq "$(json_field "$T/subs.jsonl" 1 'r["path"]')" /chan-1 "subscribed path"
stop_tunnel tunnel
expect_contains "$(cat "$T/tunnel.err")" "Stopped. 3 webhook(s) received" "summary"

# A fourth webhook arrives while the tunnel is down; the restarted tunnel resumes after
# the rag id (the newest in its log) and gets only the new one.
python3 - "$T/messages.json" <<'PY'
import base64, json, sys
messages = json.load(open(sys.argv[1]))
later = json.loads(json.dumps(messages[2]))
later["id"] = later["data"]["rag"]["id"] = "evt_01KAF2J9ZC4M7T2S5XG1V9ARQE"
later["data"]["rag"]["target"] = "/fourth"
messages.append(later)
json.dump(messages, open(sys.argv[1], "w"))
PY
start_tunnel again "$channel" -f "$SINK_URL" --ordered
wait_tunnel_connected again
wait_for 10 '[ "$(peer_count SINK)" -ge 4 ]' || fail "the fourth webhook did not arrive"
fake_relay_records FR subscribe >"$T/subs.jsonl"
expect_eq "$(json_field "$T/subs.jsonl" 2 'r["last_event_id"]')" "$rag_id" \
  "Last-Event-ID after a restart"
expect_eq "$(json_field "$T/SINK.jsonl" 4 'r["target"]')" /fourth "the new webhook"
stop_tunnel again
expect_eq "$(peer_count SINK)" 4 "webhooks at the target after the restart"
expect_eq "$(log_events)" 4 "events in the log after the restart"
