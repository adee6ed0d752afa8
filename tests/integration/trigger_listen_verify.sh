#!/usr/bin/env bash
# Every built-in `rag trigger` sample, sent to `rag listen --verify` with the
# provider's secret, is recorded "valid"; the same sample signed with another secret
# is "invalid: signature mismatch", and --reject-invalid answers it 401.
source "$(dirname "$0")/lib.sh"
need curl python3

secrets=(--verify github=rag_github_test_secret --verify stripe=whsec_rag_stripe_test_secret
  --verify standard=whsec_cmFnLXN0YW5kYXJkLXdlYmhvb2tzLXRlc3Qta2V5ISE=
  --verify shopify=rag_shopify_test_secret --verify slack=rag_slack_signing_secret)
start_listen L "${secrets[@]}" --reject-invalid

mapfile -t samples < <("$RAG" trigger --list | cut -d' ' -f1)
expect_eq "${#samples[@]}" 9 "built-in samples"
for sample in "${samples[@]}"; do
  "$RAG" trigger "$sample" --to "$L_URL/$sample" >/dev/null 2>"$T/trigger.err" ||
    fail "$sample was not accepted: $(cat "$T/trigger.err")"
  verdict=$("$RAG" inspect --json --last 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline()).get("verdict"))')
  expect_eq "$verdict" valid "verdict for $sample"
done

for sample in github.push stripe.payment_intent.succeeded standard.example; do
  rc=0
  "$RAG" trigger "$sample" --to "$L_URL/forged" --secret whsec_Zm9yZ2VkIGtleSBmb3IgdGVzdGluZyEhISE= \
    >/dev/null 2>"$T/forged.err" || rc=$?
  expect_eq "$rc" 1 "$sample signed with another secret is rejected"
  expect_contains "$(cat "$T/forged.err")" "401" "the sender sees 401 for $sample"
  expect_contains "$("$RAG" inspect --json --last 1)" '"verdict":"invalid: signature mismatch"' \
    "verdict for a forged $sample"
done
stop_listen L
