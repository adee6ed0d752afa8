#!/usr/bin/env bash
# --config rag.json routes on path glob, method and header values, each route with
# its own targets and response policy; flags and file combine; a bad file is one
# clear line naming the place, exit 2.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer GH sink --body github
start_peer SHOP sink --body shop
start_peer ALL sink --body all
cat >"$T/rag.json" <<JSON
{
  "routes": [
    { "path": "/github", "method": "POST", "headers": {"X-GitHub-Event": "push"}, "to": ["$GH_URL"] },
    { "glob": "/shops/*/orders", "headers": {"X-Shopify-Topic": true}, "to": ["$SHOP_URL"],
      "respond": 202, "strip_prefix": false }
  ]
}
JSON
start_listen L -f "$ALL_URL" --config "$T/rag.json"

expect_eq "$(curl -sS -H 'X-GitHub-Event: push' -d '{}' "$L_URL/github/hook")" all \
  "the -f target is the primary"
curl -sS -o /dev/null -H 'X-GitHub-Event: issues' -d '{}' "$L_URL/github/hook"
curl -sS -o /dev/null -X PUT -H 'X-GitHub-Event: push' -d '{}' "$L_URL/github/hook"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Shopify-Topic: orders/create' -d '{}' \
  "$L_URL/shops/acme/orders")
expect_eq "$code" 202 "the route's own respond policy"
curl -sS -o /dev/null -d '{}' "$L_URL/shops/acme/orders"   # no topic header: not routed
curl -sS -o /dev/null -H 'X-Shopify-Topic: x' -d '{}' "$L_URL/shops/acme/refunds"

wait_for 10 '[ "$(peer_count ALL)" -eq 6 ] && [ "$(log_deliveries)" -eq 8 ]' ||
  fail "expected 6 + 2 deliveries, got $(log_deliveries)"
expect_eq "$(peer_count GH)" 1 "only POST with X-GitHub-Event: push reaches the github route"
expect_eq "$(json_field "$T/GH.jsonl" 1 'r["target"]')" "/hook" "path prefix stripped"
expect_eq "$(peer_count SHOP)" 1 "only the glob + header match reaches the shop route"
expect_eq "$(json_field "$T/SHOP.jsonl" 1 'r["target"]')" "/shops/acme/orders" "glob route keeps the path"
stop_listen L

printf '{\n  "routes": [\n    {"path": "/x" "to": ["3000"]}\n  ]\n}\n' >"$T/syntax.json"
rc=0
"$RAG" listen 127.0.0.1:0 --config "$T/syntax.json" 2>"$T/syntax.err" || rc=$?
expect_eq "$rc" 2 "exit code for a JSON syntax error"
expect_eq "$(wc -l <"$T/syntax.err")" 1 "one line of error"
expect_contains "$(cat "$T/syntax.err")" "$T/syntax.json:3:" "file and line named"

printf '{"routes": [{"path": "/x", "methd": "POST", "to": ["3000"]}]}' >"$T/key.json"
rc=0
"$RAG" listen 127.0.0.1:0 --config "$T/key.json" 2>"$T/key.err" || rc=$?
expect_eq "$rc" 2 "exit code for an unknown key"
expect_contains "$(cat "$T/key.err")" "routes[0]: unknown key 'methd'" "the field is named"
expect_contains "$(cat "$T/key.err")" "did you mean 'method'?" "did you mean"

rc=0
"$RAG" listen 127.0.0.1:0 --config "$T/missing.json" 2>"$T/missing.err" || rc=$?
expect_eq "$rc" 1 "exit code for a missing config file"
expect_contains "$(cat "$T/missing.err")" "missing.json" "the missing file is named"
