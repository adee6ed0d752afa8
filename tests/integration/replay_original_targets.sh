#!/usr/bin/env bash
# Without --to an event goes again to the exact URLs it was delivered to (mapped path and
# query as recorded, not re-mapped), each attempt recorded with "replay": true; --to sends
# it elsewhere instead; an event that was never delivered is skipped with a warning
# naming it, the others are still replayed, and the exit code is 1.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink
start_peer B sink
start_peer C sink
start_listen L -f "$A_URL" -f "$B_URL/hooks/b?k=v"
curl -sS -o /dev/null -d 'payload' -H 'X-Custom: 1' "$L_URL/gh/push?a=1"
wait_for 5 '[ "$(log_deliveries)" -eq 2 ]' || fail "the listener did not deliver"
id=$("$RAG" inspect --json --last 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
stop_listen L
expect_eq "$(peer_count A)" 1 "A got the original"
expect_eq "$(peer_count B)" 1 "B got the original"

# A replay of the replay must not add targets: run it twice.
for run in 1 2; do
  rc=0
  "$RAG" replay "${id:0:12}" >"$T/replay.out" 2>"$T/replay.err" || rc=$?
  expect_eq "$rc" 0 "replay to the original targets (run $run)"
  expect_eq "$(peer_count A)" $((run + 1)) "A received the replay (run $run)"
  expect_eq "$(peer_count B)" $((run + 1)) "B received the replay (run $run)"
done
expect_eq "$(json_field "$T/A.jsonl" 2 'r["target"]')" "/gh/push?a=1" "A: same path and query"
expect_eq "$(json_field "$T/B.jsonl" 2 'r["target"]')" "/hooks/b?k=v&a=1" "B: the recorded URL, exactly"
expect_eq "$(json_field "$T/B.jsonl" 3 'r["target"]')" "/hooks/b?k=v&a=1" "B: not mapped twice"
expect_eq "$(json_field "$T/A.jsonl" 2 'r["body_sha256"]')" "$(json_field "$T/A.jsonl" 1 'r["body_sha256"]')" \
  "A: same body"
expect_contains "$(cat "$T/replay.out")" "→ 200 $A_URL/gh/push?a=1" "delivery line for A"
expect_contains "$(cat "$T/replay.out")" "replay)  ${id:0:18}" "delivery line marks the replay and names the event"
expect_eq "$(peer_count C)" 0 "C untouched so far"

"$RAG" replay "$id" --to "$C_URL/other" --json >"$T/to.out" 2>"$T/to.err" || fail "replay --to failed"
expect_eq "$(peer_count C)" 1 "--to target received it"
expect_eq "$(peer_count A)" 3 "--to replaces the original targets (A)"
expect_eq "$(peer_count B)" 3 "--to replaces the original targets (B)"
expect_eq "$(json_field "$T/C.jsonl" 1 'r["target"]')" "/other?a=1" "--to path rule as --forward-to"
expect_eq "$(json_field "$T/to.out" 1 'r["kind"], r["event_id"], r["replay"], r["status"]')" \
  "('delivery', '$id', True, 200)" "--json prints the delivery record"

python3 - "$RAG_LOG" "$id" <<'PY' || fail "delivery records are wrong"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
deliveries = [r for r in records if r["kind"] == "delivery" and r["event_id"] == sys.argv[2]]
originals = [d for d in deliveries if not d["replay"]]
replays = [d for d in deliveries if d["replay"]]
assert len(originals) == 2, originals
assert len(replays) == 5, replays   # 2 runs x 2 targets + 1 --to
assert all(d["status"] == 200 for d in replays), replays
PY
expect_contains "$("$RAG" inspect "$id")" "replay" "rag inspect shows the replays"

# Captured but never forwarded: no original target.
start_listen M
lone=$(curl -sS -o /dev/null -D - -d 'alone' "$M_URL/lone" | tr -d '\r' | sed -n 's/^Rag-Event-Id: //p')
stop_listen M
rc=0
"$RAG" replay "$lone" >"$T/lone.out" 2>"$T/lone.err" || rc=$?
expect_eq "$rc" 1 "an event without original targets"
expect_contains "$(cat "$T/lone.err")" "$lone" "the error names the event"
expect_contains "$(cat "$T/lone.err")" "--to" "the error says what to do"
rc=0
"$RAG" replay --path '/*' >"$T/mixed.out" 2>"$T/mixed.err" || rc=$?
expect_eq "$rc" 1 "a selection with an untargeted event"
expect_contains "$(cat "$T/mixed.err")" "$lone" "the untargeted event is named"
expect_contains "$(cat "$T/mixed.err")" "rag: warning: $lone skipped:" "it is a warning, it is skipped"
expect_eq "$(peer_count A)" 4 "one event without a target does not stop the others (A)"
expect_eq "$(peer_count B)" 4 "one event without a target does not stop the others (B)"
expect_contains "$(cat "$T/mixed.err")" "1 event skipped" "the summary counts the skipped event"
"$RAG" replay "$lone" --to "$C_URL" 2>/dev/null >/dev/null || fail "--to works for it"
expect_eq "$(peer_count C)" 2 "the untargeted event replayed with --to"
