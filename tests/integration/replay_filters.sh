#!/usr/bin/env bash
# Selection: `rag inspect` filters (--method, --path, --header, --grep, --status failed)
# replay exactly the matching events; --last N replays the newest N, oldest first; IDs
# cannot be mixed with filters, and no selection at all is a usage error.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer F sink --status 500
start_listen L -f "$F_URL"
send() { curl -sS -o /dev/null "$@"; }
send -X PUT -d 'put-1' "$L_URL/items/1"
send -d 'post-1' "$L_URL/gh/push"
send -X PUT -d 'put-2' -H 'X-Kind: special' "$L_URL/gh/put"
send -d 'post-2 needle' "$L_URL/other"
send -X PATCH -d 'patch-1' "$L_URL/items/2"
wait_for 5 '[ "$(log_deliveries)" -eq 5 ]' || fail "expected 5 original deliveries"
stop_listen L

start_peer S sink
replayed() { # ARGS...: replay to S with ARGS; print the bodies S received, one per line
  : >"$T/S.jsonl"
  "$RAG" replay --to "$S_URL" --concurrency 1 "$@" >"$T/replay.out" 2>"$T/replay.err" ||
    fail "rag replay $* failed: $(cat "$T/replay.err")"
  python3 - "$T/S.jsonl" <<'PY'
import base64, json, sys
for line in open(sys.argv[1]):
    print(base64.b64decode(json.loads(line)["body_b64"]).decode())
PY
}
expect_eq "$(replayed --method put | tr '\n' ' ')" "put-1 put-2 " "--method PUT (any case)"
expect_eq "$(replayed --path '/gh/*' | tr '\n' ' ')" "post-1 put-2 " "--path glob"
expect_eq "$(replayed --path '/items/*' --method PATCH | tr '\n' ' ')" "patch-1 " "filters combine"
expect_eq "$(replayed --header X-Kind=special | tr '\n' ' ')" "put-2 " "--header"
expect_eq "$(replayed --grep needle | tr '\n' ' ')" "post-2 needle " "--grep"
expect_eq "$(replayed --last 2 | tr '\n' ' ')" "post-2 needle patch-1 " "--last 2, oldest first"
expect_eq "$(replayed --last 2 --method PUT | tr '\n' ' ')" "put-1 put-2 " "--last with a filter"
expect_eq "$(replayed --since 1h | tr '\n' ' ')" "put-1 post-1 put-2 post-2 needle patch-1 " \
  "--since: all five, in capture order"
expect_contains "$(cat "$T/replay.err")" "replayed 5 events: 5 deliveries, 5 ok" "summary"

# Every event failed at F (500); the replays to S succeeded, so their latest delivery
# to S is fine but the one to F still failed: --status failed selects all five.
expect_eq "$(replayed --status failed | wc -l | tr -d ' ')" 5 "--status failed"
expect_eq "$(replayed --status 200 --method PATCH | tr '\n' ' ')" "patch-1 " "--status 200"

rc=0
"$RAG" replay --method DELETE --to "$S_URL" >"$T/none.out" 2>"$T/none.err" || rc=$?
expect_eq "$rc" 0 "nothing matching is not an error"
expect_contains "$(cat "$T/none.err")" "no events in $RAG_LOG match" "nothing matching is said"

id=$("$RAG" inspect --json --last 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
rc=0
"$RAG" replay "$id" --method PUT --to "$S_URL" 2>"$T/mix.err" || rc=$?
expect_eq "$rc" 2 "IDs with filters"
expect_contains "$(cat "$T/mix.err")" "cannot be combined" "IDs with filters: message"
rc=0
"$RAG" replay --to "$S_URL" 2>"$T/nothing.err" || rc=$?
expect_eq "$rc" 2 "no selection is a usage error"
expect_contains "$(cat "$T/nothing.err")" "nothing to replay" "no selection: message"
expect_contains "$(cat "$T/nothing.err")" "--last" "no selection: hint"
rc=0
"$RAG" replay --since soon --to "$S_URL" 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 2 "a bad filter value"
