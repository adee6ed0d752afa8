#!/usr/bin/env bash
# 1,000 captured events replayed with --concurrency 8 all arrive exactly once, each
# recorded as a replay delivery; with --concurrency 1 they arrive strictly in capture order.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
# curl's URL globbing sends all 1,000 over one kept-alive connection: fast to capture.
curl -sS -d 'load' "$L_URL/load/[1-1000]" >/dev/null
stop_listen L
expect_eq "$(log_events)" 1000 "events captured"

start_peer S sink
rc=0
"$RAG" replay --since 1h --to "$S_URL" --concurrency 8 >"$T/replay.out" 2>"$T/replay.err" || rc=$?
expect_eq "$rc" 0 "replay exit code"
expect_contains "$(cat "$T/replay.err")" "replayed 1000 events: 1000 deliveries, 1000 ok, 0 failed" "summary"
expect_eq "$(wc -l <"$T/replay.out" | tr -d ' ')" 1000 "one line per delivery"
python3 - "$T/S.jsonl" "$RAG_LOG" <<'PY' || fail "not every event arrived exactly once"
import collections, json, sys
targets = collections.Counter(json.loads(l)["target"] for l in open(sys.argv[1]))
expected = {f"/load/{i}" for i in range(1, 1001)}
assert set(targets) == expected, sorted(set(targets) ^ expected)[:5]
assert all(n == 1 for n in targets.values()), [t for t, n in targets.items() if n != 1][:5]
records = [json.loads(l) for l in open(sys.argv[2])]
events = {r["id"] for r in records if r["kind"] == "event"}
replays = [r for r in records if r["kind"] == "delivery"]
assert len(replays) == 1000 and all(r["replay"] and r["status"] == 200 for r in replays)
assert {r["event_id"] for r in replays} == events
PY

start_peer O sink
"$RAG" replay --last 200 --to "$O_URL" --concurrency 1 >/dev/null 2>"$T/ordered.err" ||
  fail "ordered replay failed"
python3 - "$T/O.jsonl" <<'PY' || fail "--concurrency 1 did not keep capture order"
import json, sys
got = [json.loads(l)["target"] for l in open(sys.argv[1])]
assert got == [f"/load/{i}" for i in range(801, 1001)], got[:10]
PY
