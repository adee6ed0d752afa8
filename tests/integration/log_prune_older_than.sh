#!/usr/bin/env bash
# `rag log prune --older-than AGE|TIME` removes the events captured before that time,
# by their time rather than their place in the log (an imported old event at the end
# goes too), with their deliveries; newer events and their deliveries stay.
source "$(dirname "$0")/lib.sh"
need python3

python3 - "$RAG_LOG" <<'PY'
import hashlib, json, sys, time
from datetime import datetime, timezone

def at(days_ago):
    t = datetime.fromtimestamp(time.time() - days_ago * 86400, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

def line(record):
    return json.dumps(record, separators=(",", ":"))

def event(name, days_ago):
    return line({"v": 1, "kind": "event", "id": "evt_" + name.ljust(26, "0"), "time": at(days_ago),
                 "source": "listen:127.0.0.1:7777", "remote": "127.0.0.1:50000",
                 "method": "POST", "target": "/" + name, "http_version": "HTTP/1.1",
                 "headers": [], "body": "", "body_size": 0,
                 "body_sha256": hashlib.sha256(b"").hexdigest()})

def delivery(name, event_name):
    return line({"v": 1, "kind": "delivery", "id": "dlv_" + name.ljust(26, "0"),
                 "event_id": "evt_" + event_name.ljust(26, "0"), "time": at(0),
                 "target": "http://127.0.0.1:3000/", "attempt": 1, "replay": False,
                 "status": 500, "duration_ms": 2.0,
                 "response": {"headers": [], "body": "", "body_size": 0, "truncated": False}})

lines = [event("TENDAYS", 10), delivery("D1", "TENDAYS"),
         event("EIGHTDAYS", 8), delivery("D2", "EIGHTDAYS"),
         event("SIXDAYS", 6), delivery("D3", "SIXDAYS"),
         event("ONEHOUR", 1 / 24), delivery("D4", "ONEHOUR"),
         event("IMPORTED", 30), delivery("D5", "IMPORTED"), delivery("D6", "SIXDAYS")]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

events() { python3 -c '
import json, sys
print(" ".join(json.loads(l)["target"][1:] for l in open(sys.argv[1]) if "\"kind\":\"event\"" in l))' \
  "$RAG_LOG"; }
deliveries() { grep -o '"id":"dlv_D[0-9]' "$RAG_LOG" | cut -c 11- | tr '\n' ' ' | sed 's/ $//'; }

out=$("$RAG" log prune --older-than 7d)
expect_contains "$out" "pruned 3 events and 3 deliveries, kept 2 events and 3 deliveries;" "report"
expect_eq "$(events)" "SIXDAYS ONEHOUR" "events left after --older-than 7d"
expect_eq "$(deliveries)" "D3 D4 D6" "deliveries left after --older-than 7d"

# A time instead of an age: everything before tomorrow goes.
tomorrow=$(python3 -c '
import time
from datetime import datetime, timezone
print(datetime.fromtimestamp(time.time() + 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
out=$("$RAG" log prune --older-than "$tomorrow" --dry-run)
expect_contains "$out" "would prune 2 events and 3 deliveries" "--older-than TIME, dry run"
out=$("$RAG" log prune --older-than 2d --json)
expect_contains "$out" '"events_removed":1,"events_kept":1,"deliveries_removed":2' "--older-than 2d"
expect_eq "$(events)" "ONEHOUR" "events left after --older-than 2d"
expect_eq "$(deliveries)" "D4" "deliveries left after --older-than 2d"

# A bad age is a usage error that leaves the log alone.
cp "$RAG_LOG" "$T/before.jsonl"
rc=0
err=$("$RAG" log prune --older-than 7x 2>&1) || rc=$?
expect_eq "$rc" 2 "exit code for a bad --older-than"
expect_contains "$err" "--older-than" "the error names the option"
cmp -s "$RAG_LOG" "$T/before.jsonl" || fail "a bad --older-than changed the log"
