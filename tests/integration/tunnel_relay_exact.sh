#!/usr/bin/env bash
# rag relay + rag tunnel on loopback: a binary body with NUL bytes, a gzip body and a PUT
# with a query and odd headers reach the local target byte-exact, with their method, raw
# target and header order and case kept (Host set to the target, X-Forwarded-* added);
# the tunnel's log holds each request exactly as the relay received it.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
channel=${channel_url##*/}
start_peer SINK sink
start_tunnel tunnel "$channel_url" -f "$SINK_URL" --ordered
wait_tunnel_connected tunnel

# Three raw requests, as a provider would send them to the channel, and what they are.
python3 - "$T" "$channel" <<'PY'
import gzip, json, sys
out, channel = sys.argv[1], sys.argv[2]
requests = [
    ("POST", "/bin", [("Host", "relay.example"), ("Content-Type", "application/octet-stream"),
                      ("X-Zeta", "1"), ("x-alpha", "2"), ("X-Empty", "")],
     bytes(range(256)) * 4 + b"\x00\x00end\r\n"),
    ("POST", "/gz", [("Host", "relay.example"), ("Content-Type", "application/json"),
                     ("Content-Encoding", "gzip"), ("X-GitHub-Event", "push")],
     gzip.compress(b'{"zen":"' + b"x" * 2000 + b'"}', mtime=0)),
    ("PUT", "/orders/7?b=2&a=1&a=%20x&u=%E2%9C%93",
     [("host", "relay.example"), ("X-Dup", "1"), ("x-dup", "2"), ("X-DUP", "3"),
      ("X-Quoted", 'a;b="c, d"'), ("X-Pct", "a%20b%0D%0A"), ("content-type", "text/plain")],
     b"line one\r\nline two\n"),
]
expected = []
for n, (method, target, headers, body) in enumerate(requests, start=1):
    headers = headers + [("Content-Length", str(len(body)))]
    head = "%s /%s%s HTTP/1.1\r\n" % (method, channel, target)
    head += "".join("%s: %s\r\n" % h for h in headers) + "Connection: close\r\n\r\n"
    with open("%s/req%d" % (out, n), "wb") as f:
        f.write(head.encode() + body)
    expected.append({"method": method, "target": target, "headers": headers,
                     "body": body.hex()})
json.dump(expected, open(out + "/expected.json", "w"))
PY
for n in 1 2 3; do
  answer=$(raw_http "$R_PORT" "$T/req$n")
  expect_contains "$answer" "HTTP/1.1 202" "relay answer to request $n"
done
wait_for 15 '[ "$(peer_count SINK)" -ge 3 ]' || fail "expected 3 webhooks at the target"
stop_tunnel tunnel

grep '"kind":"event"' "$RAG_LOG" >"$T/captured.jsonl"
python3 - "$T/expected.json" "$T/SINK.jsonl" "$T/captured.jsonl" "$channel_url" \
  "${SINK_URL#http://}" <<'PY' || fail "what arrived differs from what was sent"
import base64, json, sys
expected = json.load(open(sys.argv[1]))
arrived = [json.loads(line) for line in open(sys.argv[2])]
events = [json.loads(line) for line in open(sys.argv[3])]
channel_url, sink_host = sys.argv[4], sys.argv[5]
problems = []
def check(what, got, want):
    if got != want:
        problems.append("%s:\n  got  %r\n  want %r" % (what, got, want))
check("number of requests at the target", len(arrived), len(expected))
check("number of events in the log", len(events), len(expected))
for n, (want, got, event) in enumerate(zip(expected, arrived, events), start=1):
    sent = [list(h) for h in want["headers"]]
    check("%d: method" % n, got["method"], want["method"])
    check("%d: target" % n, got["target"], want["target"])
    check("%d: body" % n, base64.b64decode(got["body_b64"]).hex(), want["body"])
    # At the target: the sent headers in order, Host naming the target, X-Forwarded-* after.
    forwarded = [h for h in got["headers"] if not h[0].startswith("X-Forwarded-")]
    check("%d: headers at the target" % n, forwarded,
          [[name, sink_host if name.lower() == "host" else value] for name, value in sent])
    extra = {h[0]: h[1] for h in got["headers"] if h[0].startswith("X-Forwarded-")}
    check("%d: X-Forwarded-For" % n, extra.get("X-Forwarded-For"), "127.0.0.1")
    check("%d: X-Forwarded-Host" % n, extra.get("X-Forwarded-Host"), "relay.example")
    # In the log: the request exactly as the relay received it.
    check("%d: log source" % n, event["source"], "tunnel:" + channel_url)
    check("%d: log method" % n, event["method"], want["method"])
    check("%d: log target" % n, event["target"], want["target"])
    check("%d: log headers" % n, event["headers"], sent + [["Connection", "close"]])
    body = event["body"].encode() if event.get("body_encoding") != "base64" \
        else base64.b64decode(event["body"])
    check("%d: log body" % n, body.hex(), want["body"])
    check("%d: log relay id" % n, event["relay_id"].startswith("evt_"), True)
    check("%d: log remote" % n, event["remote"].startswith("127.0.0.1:"), True)
if problems:
    print("\n".join(problems))
    sys.exit(1)
PY
