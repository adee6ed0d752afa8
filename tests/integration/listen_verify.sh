#!/usr/bin/env bash
# --verify records a signature verdict per event (valid / invalid: reason), shown on
# the terminal and by `rag inspect`; --reject-invalid answers 401, logs the event with
# the answer (`rejected`) and forwards nothing; a secret can come from the environment; routes in --config can
# verify their own provider.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

body='{"action":"opened","number":42}'
sig() { # SECRET BODY -> sha256=HEX, computed independently of rag
  python3 -c 'import hashlib, hmac, sys; print("sha256=" + hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$2"
}

start_peer A sink
export GH_SECRET=s3cret
start_listen L -f "$A_URL" --verify github=env:GH_SECRET --reject-invalid
expect_contains "$(cat "$T/L.err")" "verifying github signatures (rejecting invalid)" "banner"
expect_not_contains "$(cat "$T/L.err")" "s3cret" "the secret is never printed"

code=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Hub-Signature-256: $(sig s3cret "$body")" \
  -H 'Content-Type: application/json' -d "$body" "$L_URL/gh")
expect_eq "$code" 200 "a valid signature is forwarded"
answer=$(curl -sS -w '\n%{http_code}' -H "X-Hub-Signature-256: $(sig s3cret "$body")" \
  -H 'Content-Type: application/json' -d "${body/42/43}" "$L_URL/gh")
expect_eq "$(tail -n 1 <<<"$answer")" 401 "a tampered body is rejected"
expect_contains "$answer" "signature invalid: signature mismatch" "the reason is given"
code=$(curl -sS -o /dev/null -w '%{http_code}' -d "$body" "$L_URL/gh")
expect_eq "$code" 401 "a missing signature is rejected"

expect_eq "$(log_events)" 3 "rejected events are still logged"
expect_eq "$(peer_count A)" 1 "rejected events are not forwarded"
table=$("$RAG" inspect)
expect_contains "$table" "valid" "verdict in the inspect table"
expect_contains "$("$RAG" inspect --json --last 1)" '"verdict":"invalid: no signature header"' \
  "verdict in the record"
expect_contains "$("$RAG" inspect --json --last 1)" \
  '"rejected":{"status":401,"reason":"signature invalid: no signature header"}' \
  "the record says the sender was answered 401"
expect_eq "$("$RAG" inspect --status 401 --json | grep -c '"kind":"event"')" 2 \
  "--status 401 finds the two refused events"
expect_contains "$table" "401 refused" "the table says what the sender got"
# stdout is a file, so rag writes its lines in batches (within 50 ms): wait for the line.
wait_for 5 grep -qF "signature invalid: signature mismatch" "$T/L.out" || true
expect_contains "$(cat "$T/L.out")" "signature invalid: signature mismatch" "verdict on the terminal"
stop_listen L

rc=0
"$RAG" listen 127.0.0.1:0 --reject-invalid 2>"$T/usage.err" || rc=$?
expect_eq "$rc" 2 "--reject-invalid without --verify is a usage error"
rc=0
GH_SECRET='' "$RAG" listen 127.0.0.1:0 --verify github=env:GH_SECRET 2>"$T/env.err" || rc=$?
expect_eq "$rc" 2 "an unset secret variable is a usage error"
expect_contains "$(cat "$T/env.err")" "GH_SECRET" "the variable is named"

# Per-route verification from --config; without --reject-invalid invalid events go on.
export RAG_LOG="$T/config.jsonl"
cat >"$T/rag.json" <<JSON
{"routes": [{"path": "/github", "to": ["$A_URL"], "verify": ["github=env:GH_SECRET"]},
            {"path": "/other", "to": ["$A_URL"]}]}
JSON
start_listen M --config "$T/rag.json"
curl -sS -o /dev/null -H "X-Hub-Signature-256: $(sig s3cret "$body")" -d "$body" "$M_URL/github/x"
curl -sS -o /dev/null -H "X-Hub-Signature-256: $(sig wrong "$body")" -d "$body" "$M_URL/github/x"
curl -sS -o /dev/null -d "$body" "$M_URL/other/x"
expect_eq "$(grep -c '"verdict":"valid"' "$RAG_LOG")" 1 "route-level verify: valid"
expect_eq "$(grep -c '"verdict":"invalid: signature mismatch"' "$RAG_LOG")" 1 "route-level verify: invalid"
expect_eq "$(grep '"kind":"event"' "$RAG_LOG" | grep -c '"verdict"')" 2 "no verdict where nothing is verified"
wait_for 5 '[ "$(peer_count A)" -eq 4 ]' || fail "without --reject-invalid every event is forwarded"
stop_listen M
