#!/usr/bin/env bash
# One anonymous POST of 100 KB, `[` x 50000 then `]` x 50000, used to kill `rag relay`
# (its stack overflowed serialising smee's `body`; issue 12, item 14). Now the sender gets
# 202, the relay stays up, smee's `body` is {} (not JSON within the nesting cap) while the
# `rag` object still carries the bytes exactly (a rag tunnel forwards them), and the next
# webhook reaches every subscriber as usual.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
url="$R_URL/deep"
subscribe_sse SMEE "$url"
subscribe_sse RAG "$url" -H 'Rag-Tunnel: 1'
start_peer SINK sink
start_tunnel tunnel "$url" -f "$SINK_URL" --ordered
wait_tunnel_connected tunnel

python3 -c 'import sys; sys.stdout.write("[" * 50000 + "]" * 50000)' >"$T/arrays.json"
python3 -c 'import sys; sys.stdout.write("{\"a\":" * 50000 + "1" + "}" * 50000)' >"$T/objects.json"
for body in arrays objects; do
  # No answer at all (the relay died) is 000, not an abort of the script.
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
    -H 'Content-Type: application/json' --data-binary @"$T/$body.json" "$url/$body" || true)
  expect_eq "$status" 202 "the relay's answer to the deep $body"
  kill -0 "$R_PID" 2>/dev/null || fail "the relay died on the deep $body"
done
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
  -H 'Content-Type: application/json' --data '{"ok":true}' "$url/next")
expect_eq "$status" 202 "the next, normal webhook"

wait_for 20 '[ "$(sse_message_count "$T/SMEE.sse")" -ge 3 ]' ||
  fail "the smee-style subscriber got $(sse_message_count "$T/SMEE.sse") of 3"
wait_for 20 '[ "$(sse_message_count "$T/RAG.sse")" -ge 3 ]' ||
  fail "the rag subscriber got $(sse_message_count "$T/RAG.sse") of 3"
wait_for 20 '[ "$(peer_count SINK)" -ge 3 ]' || fail "the tunnel forwarded $(peer_count SINK) of 3"
kill -0 "$R_PID" 2>/dev/null || fail "the relay is gone"

sse_events "$T/SMEE.sse" | grep '"event": ""' >"$T/smee.jsonl"
sse_events "$T/RAG.sse" | grep '"event": ""' >"$T/rag.jsonl"
python3 - "$T" <<'PY' || fail "what the subscribers got"
import base64, json, sys
t = sys.argv[1]
bodies = [open(f"{t}/arrays.json", "rb").read(), open(f"{t}/objects.json", "rb").read(),
          b'{"ok":true}']
smee = [json.loads(json.loads(line)["data"]) for line in open(f"{t}/smee.jsonl")]
rag = [json.loads(json.loads(line)["data"]) for line in open(f"{t}/rag.jsonl")]
sink = [json.loads(line) for line in open(f"{t}/SINK.jsonl")]
problems = []
if [m["body"] for m in smee] != [{}, {}, {"ok": True}]:
    problems.append(f"smee bodies: {[m['body'] for m in smee]}")
if any("rag" in m or "bodyB" in m for m in smee):
    problems.append("the smee-style subscriber got rag or bodyB")
if [base64.b64decode(m["rag"]["body_b64"]) for m in rag] != bodies:
    problems.append("rag.body_b64 differs from what was sent")
if [base64.b64decode(r["body_b64"]) for r in sink] != bodies:
    problems.append("the tunnel did not forward the bodies exactly")
if [r["target"] for r in sink] != ["/arrays", "/objects", "/next"]:
    problems.append(f"targets at the sink: {[r['target'] for r in sink]}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
expect_eq "$(tunnel_connections tunnel)" 1 "the tunnel stayed connected"
stop_tunnel tunnel
stop_relay R
