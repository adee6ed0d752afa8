#!/usr/bin/env bash
# --ordered delivers to each target strictly in arrival order (checked across 200
# rapid events answered at once with --respond 202); --retry 3 against a target
# that fails twice gives three attempts, each its own delivery record.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink
start_listen L -f "$A_URL" --ordered --respond 202
urls=()
for i in $(seq 1 200); do urls+=("$L_URL/seq/$i"); done
curl -sS -d 'x' -w '\n' "${urls[@]}" >/dev/null
wait_for 20 '[ "$(peer_count A)" -ge 200 ]' || fail "ordered target got $(peer_count A) of 200"
order=$(python3 - "$T/A.jsonl" <<'PY'
import json, sys
seen = [int(json.loads(l)["target"].rsplit("/", 1)[1]) for l in open(sys.argv[1])]
print("ok" if seen[-200:] == list(range(1, 201)) else "out of order: %r" % seen[-200:][:20])
PY
)
expect_eq "$order" ok "arrival order kept by --ordered"
stop_listen L

start_peer F fail --fail-times 2 --status 200
export RAG_LOG="$T/retry.jsonl"
start_listen R -f "$F_URL" --retry 3
code=$(curl -sS -o /dev/null -w '%{http_code}' -d 'retry me' "$R_URL/flaky")
expect_eq "$code" 500 "the sender gets the first attempt's answer"
wait_for 20 '[ "$(log_deliveries)" -eq 3 ]' ||
  fail "expected 3 attempts for the flaky target"
attempts=$(grep '"kind":"delivery"' "$RAG_LOG" | grep '/flaky' |
  python3 -c 'import json,sys; print(" ".join("%d:%d" % (r["attempt"], r["status"]) for r in map(json.loads, sys.stdin)))')
expect_eq "$attempts" "1:500 2:500 3:200" "attempts and statuses"
expect_eq "$(peer_count F)" 3 "the flaky target was called three times"
stop_listen R
