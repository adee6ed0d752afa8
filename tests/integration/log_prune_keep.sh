#!/usr/bin/env bash
# `rag log prune --keep N` keeps the last N events in the log and the deliveries of
# those events (wherever they are, replays included), removes the others' deliveries,
# keeps bad lines and deliveries whose event is not in the log, copies kept lines byte
# for byte, and --dry-run changes nothing.
source "$(dirname "$0")/lib.sh"
need python3

python3 - "$RAG_LOG" <<'PY'
import hashlib, json, sys

def line(record):
    return json.dumps(record, separators=(",", ":"))

def event(n):
    body = '{"n":%d}' % n
    return line({"v": 1, "kind": "event", "id": "evt_%026d" % n,
                 "time": "2026-01-0%dT00:00:00.000000Z" % n, "source": "listen:127.0.0.1:7777",
                 "remote": "127.0.0.1:50000", "method": "POST", "target": "/hook/%d" % n,
                 "http_version": "HTTP/1.1", "headers": [["Host", "h"], ["X-Pad", "ü"]],
                 "body": body, "body_size": len(body),
                 "body_sha256": hashlib.sha256(body.encode()).hexdigest()})

def delivery(n, event_n, replay=False):
    return line({"v": 1, "kind": "delivery", "id": "dlv_%026d" % n,
                 "event_id": "evt_%026d" % event_n, "time": "2026-02-01T00:00:00.000000Z",
                 "target": "http://127.0.0.1:3000/", "attempt": 1, "replay": replay,
                 "status": 200, "duration_ms": 1.0,
                 "response": {"headers": [], "body": "ok", "body_size": 2, "truncated": False}})

lines = []
for n in range(1, 7):
    lines += [event(n), delivery(10 * n, n)]
lines.insert(3, "corrupt line kept as it is")
lines += [delivery(99, 1, replay=True),   # a replay of event 1: goes with it
          delivery(98, 6, replay=True),   # a replay of event 6: stays
          delivery(97, 42)]               # its event is not in the log: stays
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
cp "$RAG_LOG" "$T/original.jsonl"

# Dry run: the report, and not one byte changed.
out=$("$RAG" log prune --keep 2 --dry-run 2>"$T/dry.err")
expect_contains "$out" "would prune 4 events and 5 deliveries, would keep 2 events and 4 deliveries" \
  "dry run report"
expect_contains "$out" "dry run: nothing changed" "dry run says so"
cmp -s "$RAG_LOG" "$T/original.jsonl" || fail "--dry-run changed the log"

out=$("$RAG" log prune --keep 2 2>"$T/prune.err")
expect_contains "$out" "pruned 4 events and 5 deliveries, kept 2 events and 4 deliveries;" "report"
expect_contains "$(cat "$T/prune.err")" "kept 1 bad line unchanged" "bad line note"

# What is left: exactly the original lines that should stay, byte for byte, in order.
python3 - "$T/original.jsonl" "$RAG_LOG" <<'PY' || fail "wrong lines kept"
import json, sys
original = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
kept = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
def stays(raw):
    try:
        r = json.loads(raw)
    except ValueError:
        return True  # the bad line
    key = r["id"] if r["kind"] == "event" else r["event_id"]
    return key in ("evt_%026d" % 5, "evt_%026d" % 6, "evt_%026d" % 42)
want = [raw for raw in original if stays(raw)]
if kept != want:
    print("kept:", *[k[:70] for k in kept], sep="\n  ")
    sys.exit(1)
PY
expect_eq "$(tail -c 1 "$RAG_LOG" | od -An -c | tr -d ' ')" '\n' "the log ends with a newline"

# Nothing to remove: the file is left alone (same inode).
inode=$(stat -c %i "$RAG_LOG")
out=$("$RAG" log prune --keep 2 2>/dev/null)
expect_contains "$out" "nothing to prune: kept 2 events and 4 deliveries" "nothing to prune"
expect_eq "$(stat -c %i "$RAG_LOG")" "$inode" "inode when nothing was pruned"

# --keep 0 removes every event and their deliveries, and --json reports it.
json=$("$RAG" log prune --keep 0 --json 2>/dev/null)
expect_contains "$json" '"dry_run":false,"rewritten":true,"events_removed":2,"events_kept":0' \
  "--keep 0 --json"
expect_contains "$json" '"deliveries_removed":3,"deliveries_kept":1,"bad_lines_kept":1' \
  "--keep 0 --json deliveries"
expect_eq "$(grep -c '"kind":"event"' "$RAG_LOG" || true)" 0 "events after --keep 0"
expect_eq "$(wc -l <"$RAG_LOG" | tr -d ' ')" 2 "the bad line and the orphan delivery stay"

# Usage errors: exit 2 and the log untouched.
cp "$RAG_LOG" "$T/before.jsonl"
for args in "" "--keep 1 --older-than 1d" "--keep -1" "--keep many"; do
  rc=0
  # shellcheck disable=SC2086 # split on purpose
  "$RAG" log prune $args >/dev/null 2>"$T/usage.err" || rc=$?
  expect_eq "$rc" 2 "exit code for 'rag log prune $args'"
done
cmp -s "$RAG_LOG" "$T/before.jsonl" || fail "a usage error changed the log"
