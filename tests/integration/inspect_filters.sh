#!/usr/bin/env bash
# Every `rag inspect` filter selects the right events, filters combine with AND,
# --status reads the latest delivery per target, and bad values exit 2 naming the flag.
source "$(dirname "$0")/lib.sh"
need curl python3

# append_event ID AGE_SECONDS METHOD TARGET BODY [NAME VALUE]...: a hand-made event record.
append_event() {
  python3 - "$RAG_LOG" "$@" <<'PY'
import datetime, hashlib, json, sys
log, id_, age, method, target, body, *h = sys.argv[1:]
t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=int(age))
raw = body.encode()
rec = {"v": 1, "kind": "event", "id": id_, "time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
       "source": "listen:127.0.0.1:1", "remote": "127.0.0.1:2", "method": method,
       "target": target, "http_version": "HTTP/1.1",
       "headers": [[h[i], h[i + 1]] for i in range(0, len(h), 2)],
       "body": body, "body_size": len(raw), "body_sha256": hashlib.sha256(raw).hexdigest()}
open(log, "a").write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")
PY
}

# append_delivery EVENT_ID TARGET STATUS [ERROR]: a hand-made delivery record.
append_delivery() {
  python3 - "$RAG_LOG" "$@" <<'PY'
import datetime, json, sys, random
log, event_id, target, status, *error = sys.argv[1:]
t = datetime.datetime.now(datetime.timezone.utc)
rec = {"v": 1, "kind": "delivery", "id": "dlv_%026d" % random.randrange(10**20),
       "event_id": event_id, "time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "target": target,
       "attempt": 1, "replay": False, "status": int(status), "duration_ms": 12.4}
if error:
    rec["error"] = error[0]
else:
    rec["response"] = {"headers": [["Content-Type", "text/plain"]], "body": "ok",
                       "body_size": 2, "truncated": False}
open(log, "a").write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
}

# ids ARGS...: the last 4 characters of the ids `rag inspect --json ARGS` selects, in order.
ids() {
  "$RAG" inspect --json "$@" 2>/dev/null | python3 -c '
import json, sys
print(" ".join(json.loads(l)["id"][-4:] for l in sys.stdin))'
}

# Real captures for method, path, header and grep; hand-made ones for time and status.
start_listen L
curl -sS -o /dev/null -X POST "$L_URL/github/push?ref=main" -H 'X-GitHub-Event: push' \
  -H 'Content-Type: application/json' --data-binary '{"ref":"refs/heads/main","q":"say \"hi\""}'
curl -sS -o /dev/null -X put "$L_URL/stripe/charge" -H 'stripe-signature: t=1,v1=abc' \
  --data-binary 'amount=100'
printf 'bin\000\377needle\001' | curl -sS -o /dev/null -X POST "$L_URL/github/issues" \
  -H 'X-GitHub-Event: issues' -H 'Content-Type: application/octet-stream' --data-binary @-
curl -sS -o /dev/null "$L_URL/health"
stop_listen L
# Short names for the four captured events: G1 S1 G2 H1.
mapfile -t captured < <("$RAG" inspect --json | python3 -c '
import json, sys
print("\n".join(json.loads(l)["id"][-4:] for l in sys.stdin))')
[ "${#captured[@]}" -eq 4 ] || fail "expected 4 captured events"
G1=${captured[0]} S1=${captured[1]} G2=${captured[2]} H1=${captured[3]}

expect_eq "$(ids --method POST)" "$G1 $G2" "--method POST"
expect_eq "$(ids --method put)" "$S1" "--method is case-insensitive (sent as 'put')"
expect_eq "$(ids --method DELETE)" "" "--method DELETE"
expect_eq "$(ids --path '/github/*')" "$G1 $G2" "--path glob"
expect_eq "$(ids --path 'stripe/*')" "$S1" "--path without a leading slash"
expect_eq "$(ids --path '/github/push')" "$G1" "--path ignores the query"
expect_eq "$(ids --path '*e*')" "$S1 $G2 $H1" "--path * crosses /"
expect_eq "$(ids --header x-github-event)" "$G1 $G2" "--header NAME"
expect_eq "$(ids --header X-GitHub-Event=issues)" "$G2" "--header NAME=VALUE"
expect_eq "$(ids --header X-GitHub-Event=Issues)" "" "--header value is exact"
expect_eq "$(ids --header Stripe-Signature=t=1,v1=abc)" "$S1" "--header value with '='"
expect_eq "$(ids --grep refs/heads/main)" "$G1" "--grep in a JSON body"
expect_eq "$(ids --grep 'say \"hi\"')" "$G1" "--grep with quotes and backslashes"
expect_eq "$(ids --grep needle)" "$G2" "--grep in a binary (base64-stored) body"
expect_eq "$(ids --grep ref=main)" "$G1" "--grep in the target"
expect_eq "$(ids --grep octet-stream)" "$G2" "--grep in a header value"
expect_eq "$(ids --method POST --path '/github/*' --header X-GitHub-Event=push)" "$G1" "AND"
expect_eq "$(ids --method POST --grep amount)" "" "AND with nothing in common"

# Time: events captured 3 days and 2 hours ago.
append_event evt_00000000000000000000000OLD 259200 POST /old '{}'
append_event evt_00000000000000000000000MID 7200 POST /mid '{}'
expect_eq "$(ids --since 1h)" "$G1 $S1 $G2 $H1" "--since 1h"
expect_eq "$(ids --since 1d)" "$G1 $S1 $G2 $H1 0MID" "--since 1d"
expect_eq "$(ids --until 1h)" "0OLD 0MID" "--until 1h"
expect_eq "$(ids --since 4d --until 1d)" "0OLD" "--since with --until"
since=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)
expect_eq "$(ids --since "$since" --path /mid)" "0MID" "--since RFC 3339"

# Status: the latest attempt per target counts; events without deliveries never match.
G1_ID=$("$RAG" inspect --json --path /github/push | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
S1_ID=$("$RAG" inspect --json --path /stripe/charge | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
append_delivery "$G1_ID" http://127.0.0.1:3000/a 500
append_delivery "$G1_ID" http://127.0.0.1:3001/b 0 "connection refused"
append_delivery "$S1_ID" http://127.0.0.1:3000/a 404
append_delivery "$G1_ID" http://127.0.0.1:3000/a 200
expect_eq "$(ids --status 200)" "$G1" "--status 200"
expect_eq "$(ids --status 5xx)" "" "--status 5xx: the 500 was retried"
expect_eq "$(ids --status 4xx)" "$S1" "--status 4xx"
expect_eq "$(ids --status failed)" "$G1 $S1" "--status failed"
expect_eq "$(ids --status failed --method PUT)" "$S1" "--status with --method"
row=$("$RAG" inspect --path /github/push)
expect_contains "$row" "200 ERR" "STATUS column: latest per target, in first-attempt order"
detail=$("$RAG" inspect "$G1_ID")
expect_contains "$detail" "→ 500 http://127.0.0.1:3000/a 12ms" "first delivery in the detail view"
expect_contains "$detail" "→ ERR http://127.0.0.1:3001/b 12ms: connection refused" "error delivery"
expect_contains "$detail" "→ 200 http://127.0.0.1:3000/a 12ms" "retried delivery"
expect_eq "$("$RAG" inspect "$G1_ID" --json | python3 -c '
import json, sys
print(" ".join(json.loads(l)["kind"] for l in sys.stdin))')" "event delivery delivery delivery" \
  "--json with an ID: the event, then its deliveries"

# Without an ID, --body/--headers/--curl use the newest matching event.
expect_eq "$("$RAG" inspect --body --method PUT)" "amount=100" "--body of the newest PUT"
expect_contains "$("$RAG" inspect --headers --path '/github/*')" "POST /github/issues HTTP/1.1" \
  "--headers of the newest /github/ event"
rc=0
"$RAG" inspect --body --method PATCH >/dev/null 2>"$T/none.err" || rc=$?
expect_eq "$rc" 1 "--body with no matching event"
expect_contains "$(cat "$T/none.err")" "rag: error: no events match" "message"

# No match: empty stdout, a hint, exit 0.
out=$("$RAG" inspect --method PATCH 2>"$T/nomatch.err")
expect_eq "$out" "" "stdout without matches"
expect_contains "$(cat "$T/nomatch.err")" "no events match" "hint without matches"

# Bad values: exit 2 and a message that names the flag.
check_usage() { # FLAG ARGS...
  local flag=$1 rc=0
  shift
  "$RAG" inspect "$@" >/dev/null 2>"$T/usage.err" || rc=$?
  expect_eq "$rc" 2 "exit code for $*"
  expect_contains "$(cat "$T/usage.err")" "$flag" "message for $*"
}
check_usage --since --since 10x
check_usage --until --until yesterday
check_usage --status --status 2xxx
check_usage --status --status ok
check_usage --header --header '=x'
check_usage --method --method 'PO ST'
check_usage --last --last 0
check_usage --last --last abc
check_usage "--follow" --follow --body
check_usage "ID" "$G1_ID" --method POST
