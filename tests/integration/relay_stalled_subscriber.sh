#!/usr/bin/env bash
# A subscriber that stops reading (its socket buffers full) blocks neither publishing
# nor the other subscribers of its channel or of other channels: ~20 MB of webhooks
# are all answered 202 and all reach a reading subscriber.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
url="$R_URL/busy"

# Subscribes with a tiny receive buffer, then never reads again. It asks for `bodyB` and
# `rag` (each webhook's body twice in base64), so that its socket buffers do fill up.
python3 - "$R_PORT" "$T/stalled.ready" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /busy?bodyB=1 HTTP/1.1\r\nHost: relay\r\nAccept: text/event-stream\r\n"
          b"Rag-Tunnel: 1\r\n\r\n")
open(sys.argv[2], "w").close()
time.sleep(300)
PY
PIDS+=("$!")
wait_for 10 '[ -f "$T/stalled.ready" ]' || fail "the stalled subscriber did not connect"
wait_for 10 'grep -q "subscribe  busy" "$T/R.err"' || fail "the stalled subscriber was not seen"
subscribe_sse READER "$url?bodyB=1" -H 'Rag-Tunnel: 1'
subscribe_sse ELSEWHERE "$R_URL/calm"

python3 -c 'import os, sys; sys.stdout.buffer.write(os.urandom(200 * 1024))' >"$T/body"
for i in $(seq 1 40); do
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/octet-stream' --data-binary @"$T/body" "$url?n=$i")
  expect_eq "$status" 202 "publish $i of 40 while a subscriber is stalled"
done
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --data 'hi' "$R_URL/calm")
expect_eq "$status" 202 "publishing to another channel"

wait_for 30 '[ "$(sse_message_count "$T/READER.sse")" -ge 40 ]' ||
  fail "the reading subscriber got $(sse_message_count "$T/READER.sse") of 40"
wait_for 10 '[ "$(sse_message_count "$T/ELSEWHERE.sse")" -eq 1 ]' ||
  fail "the other channel's subscriber got nothing"
bytes=$(wc -c <"$T/READER.sse")
((bytes > 20000000)) || fail "expected over 20 MB through the stream, got $bytes bytes"
# Every body arrived intact.
sse_events "$T/READER.sse" | python3 -c '
import base64, hashlib, json, sys
want = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
n = 0
for e in map(json.loads, sys.stdin):
    if e["event"] == "":
        rag = json.loads(e["data"])["rag"]
        assert hashlib.sha256(base64.b64decode(rag["body_b64"])).hexdigest() == want, rag["target"]
        n += 1
assert n == 40, n' "$T/body" || fail "bodies changed on the way"
stop_relay R
