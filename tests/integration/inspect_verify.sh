#!/usr/bin/env bash
# `rag inspect [ID] --verify PROVIDER=SECRET` checks a stored event's signature after
# the fact, on the captured headers and exact body bytes, and exits 0 only when valid.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L

# hmac_hex SECRET FILE [PREFIX]: hex HMAC-SHA256 of PREFIX followed by FILE's bytes.
hmac_hex() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import hashlib, hmac, sys
body = open(sys.argv[2], "rb").read()
print(hmac.new(sys.argv[1].encode(), sys.argv[3].encode() + body, hashlib.sha256).hexdigest())
PY
}

# newest_id: the id of the newest event.
newest_id() {
  "$RAG" inspect --json --last 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# check EXPECTED_RC ARGS...: run `rag inspect ARGS`, expect the exit code, print stdout.
check() {
  local expected=$1 rc=0
  shift
  "$RAG" inspect "$@" >"$T/verify.out" 2>"$T/verify.err" || rc=$?
  expect_eq "$rc" "$expected" "exit code of rag inspect $*"
  cat "$T/verify.out"
}

# A GitHub-signed request whose body has bytes that re-encoding would change.
printf '{"zen":"Keep it logically awesome.",  "x":"\\u00e9\xc3\xa9"}\r\n' >"$T/body.json"
secret='It'"'"'s a Secret to Everybody'
signature=$(hmac_hex "$secret" "$T/body.json")
curl -sS -o /dev/null -X POST "$L_URL/github" -H 'Content-Type: application/json' \
  -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: sha256=$signature" \
  --data-binary @"$T/body.json"
github_id=$(newest_id)

expect_eq "$(check 0 "$github_id" --verify "github=$secret")" "github: valid" "right secret"
expect_eq "$(check 1 "$github_id" --verify github=wrong)" "github: invalid: signature mismatch" \
  "wrong secret"
expect_eq "$(GH_SECRET=$secret check 0 "$github_id" --verify github=env:GH_SECRET)" \
  "github: valid" "secret from env:NAME"
printf '%s\n' "$secret" >"$T/secret.txt"
expect_eq "$(check 0 "${github_id#evt_}" --verify "github=file:$T/secret.txt")" "github: valid" \
  "secret from file:PATH, id without evt_"
check 2 "$github_id" --verify github=env:RAG_TEST_UNSET_SECRET >/dev/null
expect_contains "$(cat "$T/verify.err")" "RAG_TEST_UNSET_SECRET" "unset env secret is an error"

# Several specs: one line each, in order; a missing scheme makes the exit code 1.
expect_eq "$(check 1 "$github_id" --verify "github=$secret" --verify stripe=whsec_x)" \
  $'github: valid\nstripe: invalid: no signature header' "two specs"
expect_eq "$(check 1 "$github_id" --json --verify "github=$secret" --verify github=wrong)" \
  '{"provider":"github","verdict":"valid","signature_matches":true}
{"provider":"github","verdict":"invalid: signature mismatch","signature_matches":false}' \
  "--json objects"

# A Stripe request signed 10 minutes ago: genuine but stale.
stamp=$(($(date +%s) - 600))
printf '{"id":"evt_1","type":"payment_intent.succeeded"}' >"$T/stripe.json"
stripe_signature=$(hmac_hex whsec_stripe "$T/stripe.json" "$stamp.")
curl -sS -o /dev/null -X POST "$L_URL/stripe" -H 'Content-Type: application/json' \
  -H "Stripe-Signature: t=$stamp,v1=$stripe_signature" --data-binary @"$T/stripe.json"
stripe_id=$(newest_id)
[ "$stripe_id" != "$github_id" ] || fail "the Stripe request was not captured"

# Without an ID, --verify uses the newest event matching the filters.
stale=$(check 1 --verify stripe=whsec_stripe)
expect_contains "$stale" "stripe: invalid: timestamp outside tolerance" "stale Stripe event"
expect_contains "$stale" "the signature matches" "stale verdict says the signature matched"
expect_eq "$(check 1 --json --verify stripe=whsec_other)" \
  '{"provider":"stripe","verdict":"invalid: signature mismatch","signature_matches":false}' \
  "stale event with the wrong secret"
expect_eq "$(check 0 --path '/github' --verify "github=$secret")" "github: valid" \
  "newest event matching --path"

# --verify shows a verdict, not the event: other output flags and --follow are refused.
check 2 "$github_id" --verify "github=$secret" --body >/dev/null
check 2 --verify "github=$secret" --follow >/dev/null
check 2 "$github_id" --verify nosuch=x >/dev/null

# The help lists the flag with an example.
help=$("$RAG" inspect --help)
expect_contains "$help" "--verify PROVIDER=SECRET" "--help lists --verify"
expect_contains "$help" "rag inspect evt_1K15 --verify github=env:GITHUB_SECRET" "--help example"

stop_listen L
