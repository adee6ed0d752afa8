#!/usr/bin/env bash
# A dead target or a 5xx answer makes the replay exit 1 with a failed delivery record
# marked replay; an unknown or ambiguous id is an error (exit 1) and sends nothing.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
for i in 1 2; do curl -sS -o /dev/null -d "n=$i" "$L_URL/f/$i"; done
stop_listen L
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

rc=0
"$RAG" replay --last 1 --to "127.0.0.1:$dead_port" >"$T/dead.out" 2>"$T/dead.err" || rc=$?
expect_eq "$rc" 1 "a dead target fails the replay"
expect_contains "$(cat "$T/dead.out")" "→ ERR http://127.0.0.1:$dead_port/f/2" "delivery line"
expect_contains "$(cat "$T/dead.out")" "connection refused" "error on the delivery line"
expect_contains "$(cat "$T/dead.err")" "1 delivery, 0 ok, 1 failed" "summary counts the failure"
python3 - "$RAG_LOG" <<'PY' || fail "no failed replay delivery record"
import json, sys
ds = [json.loads(l) for l in open(sys.argv[1]) if '"kind":"delivery"' in l]
assert len(ds) == 1, ds
assert ds[0]["replay"] is True and ds[0]["error"] == "connection refused" and ds[0]["status"] == 0, ds
PY

start_peer F sink --status 503
start_peer S sink
rc=0
"$RAG" replay --path '/f/*' --to "$S_URL" --to "$F_URL" >"$T/mixed.out" 2>"$T/mixed.err" || rc=$?
expect_eq "$rc" 1 "a 503 from one target fails the replay"
expect_eq "$(peer_count S)" 2 "the healthy target got both"
expect_eq "$(peer_count F)" 2 "the failing target got both"
expect_contains "$(cat "$T/mixed.err")" "replayed 2 events: 4 deliveries, 2 ok, 2 failed" "summary"

count_before=$(peer_count S)
rc=0
"$RAG" replay evt_0000NOPE --to "$S_URL" 2>"$T/unknown.err" || rc=$?
expect_eq "$rc" 1 "unknown id"
expect_contains "$(cat "$T/unknown.err")" "no event matches 'evt_0000NOPE'" "unknown id message"
rc=0
"$RAG" replay 1 --to "$S_URL" 2>"$T/ambiguous.err" || rc=$?
expect_eq "$rc" 1 "ambiguous prefix"
expect_contains "$(cat "$T/ambiguous.err")" "ambiguous" "ambiguous prefix message"
id=$("$RAG" inspect --json --last 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
rc=0
"$RAG" replay "$id" evt_0000NOPE --to "$S_URL" 2>/dev/null || rc=$?
expect_eq "$rc" 1 "one unknown id among good ones"
expect_eq "$(peer_count S)" "$count_before" "nothing sent after an id error"
