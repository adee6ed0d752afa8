#!/usr/bin/env bash
# `rag export --format har` writes HAR 1.2 with every field the spec requires, of the
# right type: a JSON POST, a form POST, a binary body and a GET with a query and
# cookies, each with its primary target's answer as the response; an event whose
# target was down gets status 0 and `_error`. -o writes the same document to a file.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer P echo --header 'X-Peer:echo'
start_listen L -f "$P_URL"
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_listen D -f "127.0.0.1:$dead_port"

python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) + b"\x00\xff\xfe")' >"$T/body.bin"
curl -sS -o /dev/null -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
  --data-binary '{"ref":"refs/heads/main","caf\u00e9":"☕"}' "$L_URL/github?x=1"
curl -sS -o /dev/null -d 'token=abc&text=hello+world%21' "$L_URL/slack/commands"
curl -sS -o /dev/null -H 'Content-Type: application/octet-stream' \
  --data-binary "@$T/body.bin" "$L_URL/upload"
curl -sS -o /dev/null -H 'Cookie: session=s1; theme=dark' "$L_URL/status?name=caf%C3%A9&n=a+b"
curl -sS -o /dev/null -d 'x' "$D_URL/down" || true
wait_for 10 '[ "$(log_deliveries)" -eq 5 ]' || fail "expected 5 deliveries, got $(log_deliveries)"

"$RAG" export --format har >"$T/stdout.har" 2>"$T/export.err" || fail "export to stdout failed"
"$RAG" export --format har -o "$T/out.har" 2>"$T/export-o.err" || fail "export -o failed"
expect_contains "$(cat "$T/export-o.err")" "exported 5 events as HAR to $T/out.har" "summary on stderr"
cmp -s "$T/stdout.har" "$T/out.har" || fail "-o and stdout differ"
expect_eq "$(stat -c %a "$T/out.har")" 600 "export file mode"
[ -z "$(find "$T" -maxdepth 1 -name '*out.har?*')" ] || fail "temp file left behind"
"$RAG" export --format har -o "$T/out.har" 2>"$T/export-again.err" || fail "export -o over a file failed"
cmp -s "$T/stdout.har" "$T/out.har" || fail "-o over an existing file differs"
[ -z "$(find "$T" -maxdepth 1 -name '*out.har?*')" ] || fail "temp file left behind (overwrite)"
rc=0
"$RAG" export --format har -o "$T/missing/out.har" 2>"$T/missing.err" || rc=$?
expect_eq "$rc" 1 "exit code for -o in a missing directory"
expect_eq "$(wc -l <"$T/missing.err")" 1 "one line of error for -o in a missing directory"
expect_contains "$(cat "$T/missing.err")" "rag: error: cannot write $T/missing/out.har" "-o path named"
rm "$T/missing.err"

python3 - "$T/out.har" "$RAG_LOG" "$T/body.bin" <<'PY' || fail "HAR validation failed"
import base64, json, sys

har = json.load(open(sys.argv[1], encoding="utf-8"))
records = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
events = [r for r in records if r["kind"] == "event"]
binary = open(sys.argv[3], "rb").read()
problems = []

def need(obj, path, types):
    """Check that obj[path] exists and has one of `types`; return it."""
    cur = obj
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            problems.append(f"missing {path}")
            return None
        cur = cur[key]
    if not isinstance(cur, types) or (isinstance(cur, bool) and bool not in types):
        problems.append(f"{path} is {type(cur).__name__}, want {types}")
    return cur

num = (int, float)
log = need(har, "log", dict)
need(har, "log.version", str)
if log.get("version") != "1.2":
    problems.append("log.version is not 1.2")
need(har, "log.creator.name", str)
need(har, "log.creator.version", str)
entries = need(har, "log.entries", list) or []
for i, e in enumerate(entries):
    for path, types in [
        ("startedDateTime", str), ("time", num),
        ("request.method", str), ("request.url", str), ("request.httpVersion", str),
        ("request.cookies", list), ("request.headers", list), ("request.queryString", list),
        ("request.headersSize", num), ("request.bodySize", num),
        ("response.status", num), ("response.statusText", str), ("response.httpVersion", str),
        ("response.cookies", list), ("response.headers", list), ("response.content", dict),
        ("response.content.size", num), ("response.content.mimeType", str),
        ("response.redirectURL", str), ("response.headersSize", num), ("response.bodySize", num),
        ("cache", dict), ("timings", dict),
        ("timings.send", num), ("timings.wait", num), ("timings.receive", num)]:
        need(e, path, types)
    for h in e["request"]["headers"] + e["request"]["queryString"] + e["request"]["cookies"]:
        if not isinstance(h.get("name"), str) or not isinstance(h.get("value"), str):
            problems.append(f"entry {i}: a name/value pair is malformed: {h}")
    if "postData" in e["request"]:
        need(e, "request.postData.mimeType", str)
        need(e, "request.postData.text", str)
    # time is the sum of the timings that are not -1
    t = sum(v for k, v in e["timings"].items() if not k.startswith("_") and v != -1)
    if abs(t - e["time"]) > 0.001:
        problems.append(f"entry {i}: time {e['time']} != sum of timings {t}")
    if not e["startedDateTime"].endswith("Z") or "." not in e["startedDateTime"]:
        problems.append(f"entry {i}: startedDateTime {e['startedDateTime']}")

if len(entries) != len(events):
    problems.append(f"{len(entries)} entries for {len(events)} events")
by_id = {e["_rag_event_id"]: e for e in entries}
for ev in events:
    e = by_id.get(ev["id"])
    if e is None:
        problems.append(f"no entry for {ev['id']}")
        continue
    req = e["request"]
    got_headers = [[h["name"], h["value"]] for h in req["headers"]]
    if got_headers != ev["headers"]:
        problems.append(f"{ev['id']}: headers {got_headers} != {ev['headers']}")
    if req["method"] != ev["method"] or not req["url"].endswith(ev["target"]):
        problems.append(f"{ev['id']}: method/url {req['method']} {req['url']}")
    if ev.get("body_encoding") == "base64":
        post = req["postData"]
        if post.get("encoding") != "base64" or post.get("_encoding") != "base64":
            problems.append("binary postData is not marked base64")
        if base64.b64decode(post["text"]) != binary:
            problems.append("binary postData does not decode to the body sent")
    elif ev["body"]:
        if req["postData"]["text"] != ev["body"] or "encoding" in req["postData"]:
            problems.append(f"{ev['id']}: text postData differs")
    elif "postData" in req:
        problems.append(f"{ev['id']}: postData for an empty body")
    if req["bodySize"] != ev["body_size"]:
        problems.append(f"{ev['id']}: bodySize {req['bodySize']} != {ev['body_size']}")
    resp = e["response"]
    if ev["target"] == "/down":
        if resp["status"] != 0 or "refused" not in resp.get("_error", ""):
            problems.append(f"dead target: {resp}")
    else:
        if resp["status"] != 200 or resp["statusText"] != "OK":
            problems.append(f"{ev['id']}: response status {resp['status']}")
        if ["X-Peer", "echo"] not in [[h["name"], h["value"]] for h in resp["headers"]]:
            problems.append(f"{ev['id']}: response headers {resp['headers']}")
        content = resp["content"]
        body = base64.b64decode(content["text"]) if content.get("encoding") == "base64" \
            else content.get("text", "").encode()
        sent = binary if ev.get("body_encoding") == "base64" else ev["body"].encode()
        if body != sent:
            problems.append(f"{ev['id']}: echoed response content differs")
        if e["time"] <= 0:
            problems.append(f"{ev['id']}: time {e['time']}")

status = next(e for e in entries if "/status?" in e["request"]["url"])
if status["request"]["queryString"] != [{"name": "name", "value": "café"},
                                        {"name": "n", "value": "a b"}]:
    problems.append(f"queryString {status['request']['queryString']}")
if [c["name"] for c in status["request"]["cookies"]] != ["session", "theme"]:
    problems.append(f"cookies {status['request']['cookies']}")
form = next(e for e in entries if e["request"]["url"].endswith("/slack/commands"))
if form["request"]["postData"]["mimeType"] != "application/x-www-form-urlencoded":
    problems.append("form mimeType")

for p in problems:
    print("HAR:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# Filters select what goes in; an export that matches nothing is still valid HAR.
"$RAG" export --format har --method GET >"$T/get.har"
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$T/get.har")" 1 "--method GET entries"
"$RAG" export --format har --path '/nothing' >"$T/none.har" 2>"$T/none.err"
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$T/none.har")" 0 "no entries"
expect_contains "$(cat "$T/none.err")" "no events match" "empty export says so"
stop_listen L
stop_listen D
