#!/usr/bin/env bash
# `rag log stats` counts a known log exactly: events, deliveries, replays, bad lines
# (a corrupt middle line and a torn tail), size, oldest/newest event time, events by
# method and by path (top 10), deliveries by status class; as a table and as JSON.
source "$(dirname "$0")/lib.sh"
need python3

# A missing log: zeros, exists false, exit 0.
json=$("$RAG" log stats --json 2>"$T/missing.err")
expect_contains "$json" '"exists":false' "missing log"
expect_contains "$json" '"events":0' "missing log has no events"
expect_contains "$json" '"oldest":null' "missing log has no oldest"
expect_contains "$(cat "$T/missing.err")" "does not exist yet" "note for a missing log"

# Valid records in the format of docs/event-log.md, written in a known order.
python3 - "$RAG_LOG" <<'PY'
import hashlib, json, sys

def line(record):
    return json.dumps(record, separators=(",", ":"))

def event(n, time, method, target, body="{}"):
    raw = body.encode()
    return line({"v": 1, "kind": "event", "id": "evt_%026d" % n, "time": time,
                 "source": "listen:127.0.0.1:7777", "remote": "127.0.0.1:50000",
                 "method": method, "target": target, "http_version": "HTTP/1.1",
                 "headers": [["Host", "127.0.0.1:7777"]], "body": body,
                 "body_size": len(raw), "body_sha256": hashlib.sha256(raw).hexdigest()})

def delivery(n, event_n, status, replay=False, error=None):
    record = {"v": 1, "kind": "delivery", "id": "dlv_%026d" % n, "event_id": "evt_%026d" % event_n,
              "time": "2026-01-01T00:00:00.000000Z", "target": "http://127.0.0.1:3000/hook",
              "attempt": 1, "replay": replay, "status": 0 if error else status,
              "duration_ms": 1.5}
    if error:
        record["error"] = error
    else:
        record["response"] = {"headers": [], "body": "ok", "body_size": 2, "truncated": False}
    return line(record)

lines = [
    event(1, "2024-03-01T10:00:00.000000Z", "POST", "/github?delivery=1"),
    delivery(1, 1, 200),
    event(2, "2023-01-15T08:30:00.250000Z", "POST", "/github"),   # the oldest, not first
    delivery(2, 2, 201, replay=True),
    '{"v":1,"kind":"event","id":"evt_broken"',                     # line 5: corrupt
    event(3, "2025-12-31T23:59:59.999999Z", "GET", "/stripe/hook"), # the newest
    delivery(3, 3, 302),
    delivery(4, 3, 404),
    delivery(5, 3, 503, replay=True),
    delivery(6, 3, 0, error="connection refused"),
    delivery(7, 1, 101),
    event(4, "2024-06-01T00:00:00.000000Z", "PUT", "/github?x=2"),
]
# Ten more paths seen once each: the top 10 is /github, then the first nine of these.
for i in range(10):
    lines.append(event(10 + i, "2024-07-01T00:00:00.000000Z", "POST", "/p%02d" % i))
with open(sys.argv[1], "w") as f:
    f.write("\n".join(lines) + "\n")
    f.write('{"v":1,"kind":"delivery","id":"dlv_torn')               # line 23: torn
PY
size=$(stat -c %s "$RAG_LOG")

"$RAG" log stats --json >"$T/stats.json"
python3 - "$T/stats.json" "$RAG_LOG" "$size" <<'PY' || fail "rag log stats --json: $(cat "$T/stats.json")"
import json, sys
s = json.loads(open(sys.argv[1]).read())
want = {
    "path": sys.argv[2], "exists": True, "size": int(sys.argv[3]), "lines": 23,
    "events": 14, "deliveries": 7, "replays": 2, "bad_lines": 2,
    "oldest": "2023-01-15T08:30:00.250000Z", "newest": "2025-12-31T23:59:59.999999Z",
    "methods": {"POST": 12, "GET": 1, "PUT": 1},
    "statuses": {"1xx": 1, "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 1, "error": 1},
    "approximate": False,
}
ok = True
for key, value in want.items():
    if s.get(key) != value:
        print(f"{key}: expected {value!r}, got {s.get(key)!r}")
        ok = False
paths = [(p["path"], p["events"]) for p in s["paths"]]
want_paths = [("/github", 3)] + [("/p%02d" % i, 1) for i in range(9)]
if paths != want_paths:
    print(f"paths: expected {want_paths}, got {paths}")
    ok = False
if list(s["methods"]) != ["POST", "GET", "PUT"]:
    print(f"methods are not most frequent first: {list(s['methods'])}")
    ok = False
sys.exit(0 if ok else 1)
PY
expect_eq "$(wc -l <"$T/stats.json" | tr -d ' ')" 1 "--json is one line"

table=$("$RAG" log stats)
expect_contains "$table" "events       14" "table: events"
expect_contains "$table" "deliveries   7 (2 replays)" "table: deliveries"
expect_contains "$table" "bad lines    2 (run \`rag log verify\`)" "table: bad lines"
expect_contains "$table" "oldest       2023-01-15T08:30:00.250000Z" "table: oldest"
expect_contains "$table" "methods      POST 12, GET 1, PUT 1" "table: methods"
expect_contains "$table" "statuses     1xx 1, 2xx 2, 3xx 1, 4xx 1, 5xx 1, error 1" "table: statuses"
expect_contains "$table" "top paths    3  /github" "table: top path"
expect_contains "$table" "size         " "table: size"
expect_contains "$table" "($size bytes)" "table: size in bytes"
expect_eq "$(printf '%s\n' "$table" | grep -c '/p0')" 9 "table: ten paths in all"

# Reading never changes the log.
expect_eq "$(stat -c %s "$RAG_LOG")" "$size" "log size after stats"
