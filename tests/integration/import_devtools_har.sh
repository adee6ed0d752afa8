#!/usr/bin/env bash
# `rag import` reads a HAR shaped the way Chromium DevTools writes one (custom `_`
# fields, pages, HTTP/2 pseudo-headers, postData.text, base64 postData): every entry
# becomes an event with a new id, source import:/abs/path, its time, method, raw
# target, headers in order (:authority as Host) and exactly the fixture's body bytes.
source "$(dirname "$0")/lib.sh"
need python3 sha256sum

fixture="$SRC/tests/fixtures/devtools.har"
"$RAG" import "$fixture" 2>"$T/import.err" || fail "import failed: $(cat "$T/import.err")"
expect_contains "$(cat "$T/import.err")" "imported 4 events from $fixture" "summary"
expect_eq "$(log_events)" 4 "events in the log"

python3 - "$fixture" "$RAG_LOG" <<'PY' || fail "imported events do not match the fixture"
import base64, calendar, hashlib, json, os, sys, time

har = json.load(open(sys.argv[1], encoding="utf-8"))["log"]["entries"]
events = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
problems = []
source = "import:" + os.path.abspath(sys.argv[1])
for i, (entry, ev) in enumerate(zip(har, events), 1):
    req = entry["request"]
    post = req.get("postData")
    want = b""
    if post:
        want = base64.b64decode(post["text"]) if post.get("encoding") == "base64" \
            else post["text"].encode()
    got = base64.b64decode(ev["body"]) if ev.get("body_encoding") else ev["body"].encode()
    if got != want or ev["body_sha256"] != hashlib.sha256(want).hexdigest():
        problems.append(f"entry {i}: body differs")
    if ev["source"] != source:
        problems.append(f"entry {i}: source {ev['source']}")
    if not ev["id"].startswith("evt_") or len(ev["id"]) != 30:
        problems.append(f"entry {i}: id {ev['id']}")
    if ev["method"] != req["method"]:
        problems.append(f"entry {i}: method {ev['method']}")
    path = req["url"].split("://", 1)[1]
    path = path[path.index("/"):]
    if ev["target"] != path:
        problems.append(f"entry {i}: target {ev['target']} != {path}")
    want_headers = []
    for h in req["headers"]:
        if h["name"] == ":authority":
            want_headers.append(["Host", h["value"]])
        elif not h["name"].startswith(":"):
            want_headers.append([h["name"], h["value"]])
    if ev["headers"] != want_headers:
        problems.append(f"entry {i}: headers {ev['headers']} != {want_headers}")
    if ev["time"][:23] != entry["startedDateTime"][:23]:
        problems.append(f"entry {i}: time {ev['time']} != {entry['startedDateTime']}")
    if ev["http_version"] != "HTTP/1.1":
        problems.append(f"entry {i}: http_version {ev['http_version']}")
if len(events) != len(har):
    problems.append(f"{len(events)} events for {len(har)} entries")
if events[0]["headers"][0] != ["Host", "hooks.example.test"]:
    problems.append("the HTTP/2 entry has no Host from :authority")
if events[2].get("body_encoding") != "base64" or b"\x00\xff" not in base64.b64decode(events[2]["body"]):
    problems.append("the binary entry was not kept as binary")
for p in problems:
    print("import:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# The bytes also come back out through `rag inspect --body`.
binary_id=$("$RAG" inspect --json --path '/blobs/*' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
want=$(python3 -c 'import base64,json,sys,hashlib; e=json.load(open(sys.argv[1]))["log"]["entries"][2]; print(hashlib.sha256(base64.b64decode(e["request"]["postData"]["text"])).hexdigest())' "$fixture")
expect_eq "$("$RAG" inspect "$binary_id" --body | sha256sum | cut -d' ' -f1)" "$want" "binary body via inspect"

# A second import appends the same requests again, with new ids; --json prints them.
"$RAG" import --json "$fixture" >"$T/json.out" 2>/dev/null || fail "second import failed"
expect_eq "$(log_events)" 8 "events after a second import"
expect_eq "$(grep -c '"kind":"event"' "$T/json.out")" 4 "--json prints the new events"
tail -n 4 "$RAG_LOG" | cmp - "$T/json.out" || fail "--json output differs from the appended lines"
expect_eq "$(grep -o '^{"v":1,"kind":"event","id":"evt_[^"]*"' "$RAG_LOG" | sort -u | wc -l | tr -d ' ')" 8 \
  "every id is new"

# From stdin: source import:-
"$RAG" import - <"$fixture" 2>"$T/stdin.err" || fail "import from stdin failed"
expect_contains "$(cat "$T/stdin.err")" "imported 4 events from stdin" "stdin summary"
expect_contains "$(tail -n 1 "$RAG_LOG")" '"source":"import:-"' "stdin source"
