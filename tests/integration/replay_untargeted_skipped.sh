#!/usr/bin/env bash
# An event that was never delivered (so it has no original target) does not stop a batch
# replay: it is skipped with a warning naming it, the other events are replayed, and the
# exit code is 1 at the end. The same with --last (read from the end) and --dry-run.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_peer A sink
start_listen L -f "$A_URL"
curl -sS -o /dev/null -d one "$L_URL/one"
wait_for 5 '[ "$(log_deliveries)" -eq 1 ]' || fail "the first event was not delivered"
stop_listen L
start_listen M
lone=$(curl -sS -o /dev/null -D - -d lone "$M_URL/lone" | tr -d '\r' | sed -n 's/^Rag-Event-Id: //p')
stop_listen M
start_listen N -f "$A_URL"
curl -sS -o /dev/null -d three "$N_URL/three"
wait_for 5 '[ "$(log_deliveries)" -eq 2 ]' || fail "the third event was not delivered"
stop_listen N
expect_eq "$(peer_count A)" 2 "A got the originals"

rc=0
"$RAG" replay --last 3 --dry-run >"$T/dry.out" 2>"$T/dry.err" || rc=$?
expect_eq "$rc" 1 "dry run exit code with a skipped event"
expect_contains "$(cat "$T/dry.err")" "rag: warning: $lone skipped: it was never delivered" \
  "dry run: the skipped event is named"
expect_eq "$(grep -c '^POST ' "$T/dry.out")" 2 "dry run: the two other events would be sent"
expect_contains "$(cat "$T/dry.err")" "2 requests for 2 events would be sent (1 event skipped)" \
  "dry run summary"

rc=0
"$RAG" replay --last 3 --concurrency 1 >"$T/replay.out" 2>"$T/replay.err" || rc=$?
expect_eq "$rc" 1 "exit code with a skipped event"
expect_eq "$(peer_count A)" 4 "the two other events were replayed"
expect_eq "$(json_field "$T/A.jsonl" 3 'r["target"]') $(json_field "$T/A.jsonl" 4 'r["target"]')" \
  "/one /three" "in capture order (--concurrency 1)"
err=$(cat "$T/replay.err")
expect_contains "$err" "rag: warning: $lone skipped: it was never delivered" "the event is named"
expect_contains "$err" "--to URL" "the warning says what to do"
expect_contains "$err" "replayed 2 of 3 events: 2 deliveries, 2 ok, 0 failed" "summary"
expect_contains "$err" "1 event skipped" "the summary counts it"
expect_not_contains "$err" "rag: error" "no error"
expect_eq "$(grep -c '"replay":true' "$RAG_LOG")" 2 "two replay deliveries recorded"

# With --to it has a target, and nothing is skipped.
"$RAG" replay --last 3 --to "$A_URL" >/dev/null 2>"$T/to.err" || fail "--to: $(cat "$T/to.err")"
expect_eq "$(peer_count A)" 7 "--to replays all three"
