#!/usr/bin/env bash
# `rag trigger --list` prints every built-in sample with a one-line description (text and
# JSON Lines), and the list contains the nine samples the issue requires.
source "$(dirname "$0")/lib.sh"
need python3

rc=0
"$RAG" trigger --list >"$T/list" 2>"$T/err" || rc=$?
expect_eq "$rc" 0 "--list exit code"
expect_eq "$(wc -l <"$T/list" | tr -d ' ')" 9 "lines listed"
for name in github.push github.pull_request.opened github.ping stripe.payment_intent.succeeded \
  stripe.checkout.session.completed stripe.customer.subscription.updated \
  shopify.orders.create slack.event_callback standard.example; do
  line=$(grep "^$name " "$T/list" || true)
  [ -n "$line" ] || fail "$name is not listed"
  description=${line#"$name"}
  [ -n "${description// /}" ] || fail "$name has no description"
done
[ ! -s "$T/err" ] || fail "--list wrote to stderr: $(cat "$T/err")"

"$RAG" trigger --list --json >"$T/list.json"
python3 - "$T/list.json" <<'PY' || fail "--list --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 9, rows
for r in rows:
    assert set(r) == {"name", "provider", "description"}, r
    assert r["name"].startswith(r["provider"] + "."), r
PY

rc=0
"$RAG" trigger --list github.push 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "--list with a sample exit code"
