#!/usr/bin/env bash
# `rag log verify` reads every line and prints each bad one as "LINE: REASON" on stdout
# (a corrupt middle line, a damaged body, a torn last line), a summary on stderr, and
# exits 1; a clean log, or one with only warnings, exits 0.
source "$(dirname "$0")/lib.sh"
need curl python3

# A missing log is clean.
"$RAG" log verify >"$T/missing.out" 2>"$T/missing.err" || fail "verify of a missing log failed"
expect_eq "$(cat "$T/missing.out")" "" "stdout for a missing log"

# A log captured by rag listen is clean.
start_listen L
for i in 1 2 3; do
  curl -sS -o /dev/null -H 'Content-Type: application/json' -d "{\"n\":$i}" "$L_URL/hook/$i"
done
stop_listen L
"$RAG" log verify >"$T/clean.out" 2>"$T/clean.err" || fail "verify of a captured log failed"
expect_eq "$(cat "$T/clean.out")" "" "no problems in a captured log"
expect_contains "$(cat "$T/clean.err")" "no bad lines (3 lines checked: 3 events, 0 deliveries)" \
  "summary of a clean log"
good=$(sed -n 1p "$RAG_LOG")

# Break it: a corrupt line in the middle, a line whose body does not match its digest,
# a delivery for an event the log does not have, and a torn last line.
python3 - "$RAG_LOG" <<'PY'
import json, sys
path = sys.argv[1]
lines = open(path, encoding="utf-8").read().splitlines()
damaged = json.loads(lines[2])
damaged["body"] = damaged["body"].replace("3", "4")
orphan = {"v": 1, "kind": "delivery", "id": "dlv_%026d" % 1, "event_id": "evt_%026d" % 9,
          "time": "2026-01-01T00:00:00.000000Z", "target": "http://127.0.0.1:3000/",
          "attempt": 1, "replay": True, "status": 0, "duration_ms": 0.5,
          "error": "connection refused"}
out = [lines[0], "this is not JSON", lines[1], json.dumps(damaged, separators=(",", ":")),
       json.dumps(orphan, separators=(",", ":"))]
with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n" + lines[2][:40])
PY
rc=0
"$RAG" log verify >"$T/bad.out" 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 1 "exit code with bad lines"
expect_eq "$(sed -n 1p "$T/bad.out")" "2: not valid JSON" "corrupt middle line"
expect_eq "$(sed -n 2p "$T/bad.out")" "4: body_sha256 does not match the body" "damaged body"
expect_contains "$(sed -n 3p "$T/bad.out")" "5: warning: delivery dlv_" "orphan delivery warning"
expect_contains "$(sed -n 3p "$T/bad.out")" "not earlier in the log" "orphan delivery reason"
expect_eq "$(sed -n 4p "$T/bad.out")" "6: torn last line (40 bytes, no newline)" "torn tail"
expect_eq "$(wc -l <"$T/bad.out" | tr -d ' ')" 4 "problems reported"
expect_contains "$(cat "$T/bad.err")" "3 bad lines (6 lines checked: 2 events, 1 delivery, 1 warning)" \
  "summary with bad lines"

# --json: one object per problem.
"$RAG" log verify --json >"$T/bad.json" 2>/dev/null || true
expect_eq "$(sed -n 1p "$T/bad.json")" '{"line":2,"severity":"error","reason":"not valid JSON"}' \
  "--json problem"
expect_contains "$(sed -n 3p "$T/bad.json")" '"severity":"warning"' "--json warning"

# Warnings alone do not fail: keep only the first event and the orphan delivery.
{ printf '%s\n' "$good"; sed -n 5p "$RAG_LOG"; } >"$T/warn.jsonl"
rc=0
"$RAG" log verify --log "$T/warn.jsonl" >"$T/warn.out" 2>"$T/warn.err" || rc=$?
expect_eq "$rc" 0 "exit code with warnings only"
expect_contains "$(cat "$T/warn.out")" "2: warning: " "the warning is still reported"
expect_contains "$(cat "$T/warn.err")" "no bad lines" "summary with warnings only"
