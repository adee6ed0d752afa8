#!/usr/bin/env bash
# A request that --verify found forged (the ones --reject-invalid refuses) is not replayed,
# not even with --to: it is skipped with a warning naming it, the others still go out,
# and the exit code is 1. --include-rejected replays it too.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

secret=rejected_secret
good='{"ref":"refs/heads/main"}'
signature=$(python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' \
  "$secret" "$good")

start_peer A sink
start_listen L -f "$A_URL" --verify "github=$secret" --reject-invalid
forged_status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Hub-Signature-256: sha256=00' \
  -d '{"ref":"forged"}' "$L_URL/gh")
expect_eq "$forged_status" 401 "the listener refused the forged request"
curl -sS -o /dev/null -H "X-Hub-Signature-256: sha256=$signature" -d "$good" "$L_URL/gh"
wait_for 5 '[ "$(log_deliveries)" -eq 1 ]' || fail "the valid request was not delivered"
stop_listen L
expect_eq "$(peer_count A)" 1 "only the valid request reached A"
forged=$("$RAG" inspect --json --since 1h | python3 -c '
import json, sys
print([r["id"] for r in map(json.loads, sys.stdin) if r["verdict"] != "valid"][0])')

start_peer B sink
rc=0
"$RAG" replay --since 1h --to "$B_URL" >"$T/to.out" 2>"$T/to.err" || rc=$?
expect_eq "$rc" 1 "exit code when a rejected event was skipped"
expect_eq "$(peer_count B)" 1 "only the valid event was replayed with --to"
expect_eq "$(json_field "$T/B.jsonl" 1 'r["body_b64"]')" \
  "$(printf '%s' "$good" | base64)" "the valid one"
err=$(cat "$T/to.err")
expect_contains "$err" "rag: warning: $forged skipped:" "the rejected event is named"
expect_contains "$err" "invalid: signature mismatch" "the warning gives the verdict"
expect_contains "$err" "--include-rejected" "the warning says how to replay it"
expect_contains "$err" "1 event skipped" "the summary counts it"

rc=0
"$RAG" replay "$forged" --to "$B_URL" --dry-run >"$T/dry.out" 2>"$T/dry.err" || rc=$?
expect_eq "$rc" 1 "dry run exit code"
expect_eq "$(cat "$T/dry.out")" "" "dry run: nothing would be sent"
expect_contains "$(cat "$T/dry.err")" "rag: warning: $forged skipped:" "dry run: named"

# Without --to the refusal is what is reported (not "never delivered").
rc=0
"$RAG" replay --since 1h >"$T/orig.out" 2>"$T/orig.err" || rc=$?
expect_eq "$rc" 1 "exit code, original targets"
expect_contains "$(cat "$T/orig.err")" "$forged skipped: its signature failed verification" \
  "original targets: the refusal is named"
expect_eq "$(peer_count A)" 2 "the valid event went to its original target again"

# --include-rejected: sent like any other.
rc=0
"$RAG" replay --since 1h --to "$B_URL" --include-rejected >"$T/all.out" 2>"$T/all.err" || rc=$?
expect_eq "$rc" 0 "--include-rejected exit code: $(cat "$T/all.err")"
expect_eq "$(peer_count B)" 3 "--include-rejected replays both"
expect_not_contains "$(cat "$T/all.err")" "skipped" "nothing skipped"
