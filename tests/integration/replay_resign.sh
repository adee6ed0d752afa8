#!/usr/bin/env bash
# A Stripe webhook signed 10 minutes ago fails a verifying receiver when replayed as
# captured ("timestamp outside tolerance"); with --resign stripe=SECRET the replay
# carries a fresh signature over the exact body and passes.
source "$(dirname "$0")/lib.sh"
need curl python3

secret=whsec_test_resign_secret
body='{"id":"evt_3Old","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}'
header=$(python3 -c '
import hashlib, hmac, sys, time
t = int(time.time()) - 600
mac = hmac.new(sys.argv[1].encode(), f"{t}.{sys.argv[2]}".encode(), hashlib.sha256).hexdigest()
print(f"t={t},v1={mac}")' "$secret" "$body")

start_listen CAPTURE
curl -sS -o /dev/null -H "Stripe-Signature: $header" -H 'Content-Type: application/json' \
  -d "$body" "$CAPTURE_URL/stripe"
id=$("$RAG" inspect --json --last 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')

# The receiver checks signatures the way the developer's app would.
start_listen APP --log "$T/app.jsonl" --verify "stripe=$secret" --reject-invalid

rc=0
"$RAG" replay "$id" --to "$APP_URL/stripe" >"$T/plain.out" 2>&1 || rc=$?
expect_eq "$rc" 1 "a stale signature fails the receiver"
expect_contains "$(cat "$T/app.jsonl")" '"verdict":"invalid: timestamp outside tolerance"' \
  "the receiver saw a stale timestamp"

rc=0
"$RAG" replay "$id" --to "$APP_URL/stripe" --resign "stripe=$secret" >"$T/resign.out" 2>&1 || rc=$?
expect_eq "$rc" 0 "the re-signed replay passes: $(cat "$T/resign.out")"
expect_eq "$(grep -c '"verdict":"valid"' "$T/app.jsonl")" 1 "the receiver saw a valid signature"
sent=$(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("verdict") == "valid": print(r["body_sha256"])' "$T/app.jsonl")
expect_eq "$sent" "$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" "the body is unchanged"
stop_listen APP
stop_listen CAPTURE
