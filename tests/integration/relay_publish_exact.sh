#!/usr/bin/env bash
# GET /new redirects to a fresh channel; a subscriber gets `ready` with an id, then a PUT
# with a query, a binary body and odd headers as one message whose `rag` object holds the
# exact request (method, raw target, ordered headers, body bytes), next to smee's and
# gosmee's fields; the sender gets 202 with the same event id.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
[[ "$channel_url" =~ ^$R_URL/[A-Za-z0-9]{20}$ ]] || fail "GET /new gave '$channel_url'"
status=$(curl -s -o /dev/null -w '%{http_code}' "$R_URL/new")
expect_eq "$status" 307 "GET /new status"
other=$(new_channel "$R_URL")
[ "$other" != "$channel_url" ] || fail "two GET /new gave the same channel"
channel=${channel_url##*/}

# Asking for both of rag's extra fields (docs/relay-protocol.md, "Who gets which fields").
subscribe_sse S "$channel_url?bodyB=1" -H 'Rag-Tunnel: 1'
ready_id=$(sse_ready_id "$T/S.sse")
[[ "$ready_id" =~ ^evt_[0-9A-Z]{26}$ ]] || fail "ready carries no event id: '$ready_id'"

# The body: every byte value, CR/LF and NUL included.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 40 + b"\r\n\x00end")' >"$T/body"
body_size=$(wc -c <"$T/body" | tr -d ' ')
target="/$channel/hooks/a%2Fb?x=1&y=a+b&x=2&u=%E2%9C%93"
{
  printf 'PUT %s HTTP/1.1\r\n' "$target"
  printf 'Host: relay.example\r\n'
  printf 'Zeta: 1\r\n'
  printf 'alpha: 2\r\n'
  printf 'X-Dup: a\r\n'
  printf 'x-dup: b\r\n'
  printf 'X-Empty:\r\n'
  printf 'X-Pct: a%%20b\r\n'
  printf 'Content-Type: application/octet-stream\r\n'
  printf 'Content-Length: %s\r\n' "$body_size"
  printf 'Connection: close\r\n'
  printf '\r\n'
  cat "$T/body"
} >"$T/req"
answer=$(raw_http "$R_PORT" "$T/req")
expect_contains "$answer" "HTTP/1.1 202" "publish status"
event_id=$(grep -o 'Rag-Event-Id: evt_[0-9A-Z]*' <<<"$answer" | cut -d' ' -f2)
expect_contains "$answer" "{\"id\":\"$event_id\"}" "publish body names the event id"

wait_for 10 '[ "$(sse_message_count "$T/S.sse")" -ge 1 ]' || fail "the subscriber got no message"
sse_events "$T/S.sse" | grep '"event": ""' >"$T/messages.jsonl"
expect_eq "$(json_field "$T/messages.jsonl" 1 'r["id"]')" "$event_id" "SSE id is the event id"

python3 - "$T/messages.jsonl" "$T/body" "$target" "$channel" "$event_id" <<'PY' || fail "message fields"
import base64, hashlib, json, sys
event = json.loads(open(sys.argv[1]).readline())
message = json.loads(event["data"])
body = open(sys.argv[2], "rb").read()
target, channel, event_id = sys.argv[3], sys.argv[4], sys.argv[5]
rag = message["rag"]
problems = []
def check(what, got, want):
    if got != want:
        problems.append(f"{what}: got {got!r}, want {want!r}")
check("rag.v", rag["v"], 1)
check("rag.id", rag["id"], event_id)
check("rag.method", rag["method"], "PUT")
check("rag.target", rag["target"], target[len("/" + channel):])
check("rag.http_version", rag["http_version"], "HTTP/1.1")
check("rag.headers", rag["headers"], [
    ["Host", "relay.example"], ["Zeta", "1"], ["alpha", "2"], ["X-Dup", "a"], ["x-dup", "b"],
    ["X-Empty", ""], ["X-Pct", "a%20b"], ["Content-Type", "application/octet-stream"],
    ["Content-Length", str(len(body))], ["Connection", "close"]])
check("rag.body sha256", hashlib.sha256(base64.b64decode(rag["body_b64"])).hexdigest(),
      hashlib.sha256(body).hexdigest())
check("bodyB", message["bodyB"], rag["body_b64"])
check("rag.remote prefix", rag["remote"].startswith("127.0.0.1:"), True)
check("rag.time", rag["time"].endswith("Z") and len(rag["time"]) == 27, True)
check("no reply without sync mode", "reply" in rag, False)
# smee's fields
check("x-dup", message["x-dup"], "a, b")
check("zeta", message["zeta"], "1")
check("query", message["query"], {"x": "2", "y": "a b", "u": "\u2713"})
check("body", message["body"], {})
check("timestamp", isinstance(message["timestamp"], int), True)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY

# Every method publishes, JSON bodies appear parsed in smee's `body`.
status=$(curl -s -o /dev/null -w '%{http_code}' -X PROPFIND "$channel_url")
expect_eq "$status" 202 "PROPFIND publishes"
curl -s -o /dev/null -H 'Content-Type: application/json' --data '{"a":[1,2]}' "$channel_url"
wait_for 10 '[ "$(sse_message_count "$T/S.sse")" -ge 3 ]' || fail "later messages missing"
sse_events "$T/S.sse" | grep '"event": ""' >"$T/messages.jsonl"
expect_eq "$(json_field "$T/messages.jsonl" 2 'json.loads(r["data"])["rag"]["method"]')" PROPFIND \
  "odd method kept"
expect_eq "$(json_field "$T/messages.jsonl" 3 'json.loads(r["data"])["body"]')" "{'a': [1, 2]}" \
  "JSON body parsed for smee"
expect_contains "$(cat "$T/R.err")" "publish" "a log line per publish"
expect_contains "$(cat "$T/R.err")" "subscribe  $channel" "a log line per subscribe"

kill "$S_PID"
wait_for 10 'grep -q "disconnect $channel" "$T/R.err"' || fail "no disconnect line"
stop_relay R
