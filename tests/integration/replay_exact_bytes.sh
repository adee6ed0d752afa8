#!/usr/bin/env bash
# A binary body with NUL bytes, a gzip body with duplicate headers and a chunked upload,
# captured by `rag listen` and replayed with --to: the sink receives exactly the captured
# bytes (body SHA-256) and the captured header list in order and case (hop-by-hop headers
# dropped, Host the sink's, X-Forwarded-* added, a chunked body framed by Content-Length
# where Transfer-Encoding was).
source "$(dirname "$0")/lib.sh"
need curl python3 gzip sha256sum

start_listen L
start_peer S sink

python3 -c 'import sys; sys.stdout.buffer.write(b"\x00\x01NUL\x00" + bytes(range(256)) + b"\xff\xfe")' >"$T/binary.bin"
printf '{"event":"push","n":%s}\n' {1..100} | gzip -c -9 >"$T/body.gz"

capture() { # CURL-ARGS...: capture a request, print its event id
  curl -sS -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^Rag-Event-Id: //p'
}
id_bin=$(capture --data-binary "@$T/binary.bin" -H 'Content-Type: application/octet-stream' \
  "$L_URL/bin/upload?x=%00&y")
id_gz=$(capture --data-binary "@$T/body.gz" -H 'Content-Encoding: gzip' -H 'X-Dup: a' \
  -H 'zeta: 1' -H 'x-dup: b' -H 'X-Empty;' -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: h' \
  "$L_URL/gz")
id_chunked=$(capture -H 'Transfer-Encoding: chunked' -H 'X-After: 1' \
  --data-binary "@$T/body.gz" "$L_URL/chunked")
for id in "$id_bin" "$id_gz" "$id_chunked"; do [ -n "$id" ] || fail "no Rag-Event-Id"; done

rc=0
"$RAG" replay "$id_bin" "$id_gz" "$id_chunked" --to "$S_URL" --concurrency 1 \
  >"$T/replay.out" 2>"$T/replay.err" || rc=$?
expect_eq "$rc" 0 "replay exit code"
expect_eq "$(peer_count S)" 3 "requests received by the sink"
expect_contains "$(cat "$T/replay.err")" "replayed 3 events: 3 deliveries, 3 ok, 0 failed" "summary"

# Compare what the sink received with what the listener captured.
n=0
for id in "$id_bin" "$id_gz" "$id_chunked"; do
  n=$((n + 1))
  "$RAG" inspect "$id" --json | head -n 1 >"$T/event.json"
  python3 - "$T/event.json" "$T/S.jsonl" "$n" "${S_URL#http://}" <<'PY' || fail "request $n differs"
import base64, hashlib, json, sys
event = json.loads(open(sys.argv[1]).read())
got = json.loads(open(sys.argv[2]).read().splitlines()[int(sys.argv[3]) - 1])
host = sys.argv[4]
hop = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
       "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
named = {v.strip().lower() for n, v in event["headers"] if n.lower() == "connection"
         for v in v.split(",")}
body = (base64.b64decode(event["body"]) if event.get("body_encoding") == "base64"
        else event["body"].encode())
expected = []
for name, value in event["headers"]:
    low = name.lower()
    if low == "transfer-encoding":
        expected.append(["Content-Length", str(len(body))])  # de-chunked, framed in place
    elif low in hop or low in named or low == "host" or low.startswith("x-forwarded-"):
        continue
    else:
        expected.append([name, value])
received = [[n, v] for n, v in got["headers"]
            if n.lower() != "host" and not n.lower().startswith("x-forwarded-")]
problems = []
if received != expected:
    problems.append(f"headers: expected {expected}, got {received}")
if got["body_sha256"] != hashlib.sha256(body).hexdigest():
    problems.append("body bytes differ")
if got["body_sha256"] != event["body_sha256"]:
    problems.append("body sha256 differs from the record")
if got["method"] != event["method"] or got["target"] != event["target"]:
    problems.append(f"request line: {got['method']} {got['target']}")
if [v for n, v in got["headers"] if n == "Host"] != [host]:
    problems.append("Host is not the sink's")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
done
expect_eq "$(json_field "$T/S.jsonl" 1 'r["body_sha256"]')" "$(sha256sum <"$T/binary.bin" | cut -d' ' -f1)" \
  "binary body with NUL bytes"
expect_eq "$(json_field "$T/S.jsonl" 2 'r["body_sha256"]')" "$(sha256sum <"$T/body.gz" | cut -d' ' -f1)" \
  "gzip body still compressed"
expect_eq "$(json_field "$T/S.jsonl" 2 '[n for n, v in r["headers"] if n.lower() == "x-dup"]')" \
  "['X-Dup', 'x-dup']" "duplicate headers kept with their case"
expect_eq "$(json_field "$T/S.jsonl" 1 'r["target"]')" "/bin/upload?x=%00&y" "raw target and query"
stop_listen L
