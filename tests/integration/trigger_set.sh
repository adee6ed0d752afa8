#!/usr/bin/env bash
# `rag trigger --set PATH=VALUE` edits the payload before it is signed: numbers, strings,
# booleans and array elements change, missing keys are created, and the signature (checked
# independently in Python) covers the edited body. A bad path is a usage error (exit 2)
# and sends nothing. --secret env:NAME signs with that secret and never echoes it.
source "$(dirname "$0")/lib.sh"
need python3

start_peer S sink

export RAG_TEST_STRIPE_SECRET=whsec_from_the_environment
rc=0
"$RAG" trigger stripe.payment_intent.succeeded --to "$S_URL" --secret env:RAG_TEST_STRIPE_SECRET \
  --set data.object.amount=5000 --set data.object.currency=eur --set data.object.livemode=true \
  --set 'data.object.metadata.order_id="77"' --set data.object.metadata.customer.tier=gold \
  --set data.object.payment_method_types.0=sepa_debit >"$T/out" 2>"$T/err" || rc=$?
expect_eq "$rc" 0 "exit code"
expect_not_contains "$(cat "$T/err")" "whsec_from_the_environment" "the user's secret is not echoed"
expect_not_contains "$(cat "$T/err")" "test secret" "no test secret with --secret"
expect_eq "$(peer_count S)" 1 "requests received"
python3 - "$T/S.jsonl" <<'PY' || fail "edited payload or its signature"
import base64, hashlib, hmac, json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[0])
body = base64.b64decode(r["body_b64"])
o = json.loads(body)["data"]["object"]
problems = []
if o["amount"] != 5000: problems.append(f"amount {o['amount']!r}")
if o["currency"] != "eur": problems.append(f"currency {o['currency']!r}")
if o["livemode"] is not True: problems.append("livemode")
if o["metadata"]["order_id"] != "77": problems.append("order_id should be the string 77")
if o["metadata"]["customer"] != {"tier": "gold"}: problems.append("created keys")
if o["payment_method_types"] != ["sepa_debit"]: problems.append("array element")
sig = dict(p.split("=", 1) for p in dict(r["headers"])["Stripe-Signature"].split(","))
expected = hmac.new(b"whsec_from_the_environment", sig["t"].encode() + b"." + body,
                    hashlib.sha256).hexdigest()
if not hmac.compare_digest(sig["v1"], expected): problems.append("signature")
for p in problems: print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

# Bad paths: exit 2, one line naming the path, nothing sent.
rc=0
"$RAG" trigger shopify.orders.create --to "$S_URL" --set line_items.7.sku=X >"$T/out" 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "out-of-range index exit code"
expect_eq "$(grep -c . "$T/err")" 1 "one line on stderr"
expect_contains "$(cat "$T/err")" "cannot set 'line_items.7.sku': index 7 is out of range" "message"
rc=0
"$RAG" trigger shopify.orders.create --to "$S_URL" --set email.domain=x 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "stepping into a string exit code"
expect_contains "$(cat "$T/err")" "'email' is a string" "message"
rc=0
"$RAG" trigger shopify.orders.create --to "$S_URL" --set no-equals-sign 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "--set without = exit code"
expect_eq "$(peer_count S)" 1 "nothing sent for bad --set"

# An unset env: secret is a usage error before anything is sent.
rc=0
"$RAG" trigger github.push --to "$S_URL" --secret env:RAG_TEST_UNSET_SECRET 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "unset env secret exit code"
expect_contains "$(cat "$T/err")" "environment variable RAG_TEST_UNSET_SECRET is not set" "message"
expect_eq "$(peer_count S)" 1 "nothing sent without a secret"
