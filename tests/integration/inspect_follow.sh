#!/usr/bin/env bash
# `rag inspect --follow` prints events and deliveries that other processes append,
# applies filters (including --status once a delivery arrives), survives a prune
# that rewrites the log, and exits 0 on SIGINT/SIGTERM.
source "$(dirname "$0")/lib.sh"
need curl python3

# append_delivery EVENT_ID TARGET STATUS: a hand-made delivery record.
append_delivery() {
  python3 - "$RAG_LOG" "$@" <<'PY'
import datetime, json, sys, random
log, event_id, target, status = sys.argv[1:]
t = datetime.datetime.now(datetime.timezone.utc)
rec = {"v": 1, "kind": "delivery", "id": "dlv_%026d" % random.randrange(10**20),
       "event_id": event_id, "time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "target": target,
       "attempt": 1, "replay": False, "status": int(status), "duration_ms": 3.0,
       "response": {"headers": [], "body": "", "body_size": 0, "truncated": False}}
open(log, "a").write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
}

# start_follow NAME ARGS...: run `rag inspect --follow ARGS` in the background.
start_follow() {
  local name=$1
  shift
  "$RAG" inspect --follow "$@" >"$T/$name.out" 2>"$T/$name.err" &
  PIDS+=("$!")
  printf -v "${name}_PID" '%s' "$!"
}

# count FILE TEXT: lines of FILE that contain TEXT.
count() { grep -cF -- "$2" "$1" || true; }

start_listen L
curl -sS -o /dev/null -X POST "$L_URL/before" -d 'x=0'

start_follow JSON --json
start_follow TABLE
start_follow PUTS --json --method PUT
start_follow FAILED --json --status failed
wait_for 10 grep -q '"/before"' "$T/JSON.out" || fail "--follow did not list the existing event"
wait_for 10 grep -q '/before' "$T/TABLE.out" || fail "--follow table did not list the existing event"
expect_contains "$(head -n 1 "$T/TABLE.out")" "METHOD" "the table header comes first"

# Another process (the listener) appends an event: every follower sees it.
curl -sS -o /dev/null -X POST "$L_URL/after?n=1" -d 'x=1'
wait_for 10 grep -q '"/after?n=1"' "$T/JSON.out" || fail "--follow --json missed a new event"
wait_for 10 grep -q '/after?n=1' "$T/TABLE.out" || fail "--follow table missed a new event"
curl -sS -o /dev/null -X PUT "$L_URL/put" -d 'x=2'
wait_for 10 grep -q '"/put"' "$T/PUTS.out" || fail "--follow --method PUT missed the PUT"
wait_for 10 grep -q '"/put"' "$T/JSON.out" || fail "--follow --json missed the PUT"
stop_listen L

# Deliveries appended later: a line under the table, a record in JSON, and --status.
after_id=$(grep -F '"/after?n=1"' "$T/JSON.out" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
expect_eq "$(count "$T/FAILED.out" '"/after?n=1"')" 0 "--status before any delivery"
append_delivery "$after_id" http://127.0.0.1:9/hook 502
wait_for 10 grep -q '→ 502 http://127.0.0.1:9/hook 3ms' "$T/TABLE.out" ||
  fail "--follow table missed a delivery"
wait_for 10 grep -q '"kind":"delivery"' "$T/JSON.out" || fail "--follow --json missed a delivery"
wait_for 10 grep -q '"/after?n=1"' "$T/FAILED.out" ||
  fail "--follow --status failed missed the event its delivery made match"
wait_for 10 grep -q '"kind":"delivery"' "$T/FAILED.out" ||
  fail "--follow --status failed did not print the delivery after its event"
expect_eq "$(count "$T/PUTS.out" '"kind"')" 1 "the PUT follower printed only the PUT"

# A prune rewrites the log into a new, shorter file: nothing is printed twice and
# events appended afterwards still appear.
python3 - "$RAG_LOG" <<'PY'
import hashlib, json, os, sys, datetime
log = sys.argv[1]
lines = open(log).read().splitlines(True)
with open(log + ".tmp", "w") as f:
    f.writelines(lines[-2:])
os.rename(log + ".tmp", log)
PY
start_listen L2
curl -sS -o /dev/null -X POST "$L2_URL/after-prune" -d 'x=3'
wait_for 10 grep -q '"/after-prune"' "$T/JSON.out" || fail "--follow stopped after a prune"
wait_for 10 grep -q '/after-prune' "$T/TABLE.out" || fail "--follow table stopped after a prune"
stop_listen L2
for target in '"/before"' '"/after?n=1"' '"/put"' '"/after-prune"'; do
  expect_eq "$(count "$T/JSON.out" "$target")" 1 "times $target was printed"
done
expect_eq "$(count "$T/JSON.out" '"kind":"delivery"')" 1 "times the delivery was printed"
expect_eq "$(count "$T/TABLE.out" '→ 502')" 1 "times the delivery line was printed"

# Ctrl-C and SIGTERM end the followers with 0 and nothing on stderr.
for pair in JSON:INT TABLE:TERM PUTS:INT FAILED:TERM; do
  name=${pair%%:*}
  pid_var="${name}_PID"
  kill "-${pair##*:}" "${!pid_var}"
  rc=0
  wait "${!pid_var}" || rc=$?
  expect_eq "$rc" 0 "exit code of the $name follower after SIG${pair##*:}"
  expect_eq "$(cat "$T/$name.err")" "" "stderr of the $name follower"
done
