#!/usr/bin/env bash
# --set-header replaces every header of that name (any case) at the place of the first,
# adds absent ones at the end, can set Host, and refuses framing headers.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
curl -sS -o /dev/null -d 'x' -H 'X-Sig: old-1' -H 'Accept: */*' -H 'x-sig: old-2' -H 'X-Keep: k' \
  "$L_URL/sig"
stop_listen L
start_peer S sink

"$RAG" replay --last 1 --to "$S_URL" --set-header 'X-SIG: new' --set-header 'X-Added:a b' \
  --set-header 'Host: hooks.example.com' >/dev/null 2>"$T/replay.err" || fail "replay failed"
names=$(json_field "$T/S.jsonl" 1 '" ".join(n for n, v in r["headers"])')
expect_eq "$names" \
  "Host User-Agent X-SIG Accept X-Keep Content-Length Content-Type X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto X-Added" \
  "header order after overrides"
expect_eq "$(json_field "$T/S.jsonl" 1 '[v for n, v in r["headers"] if n.lower() == "x-sig"]')" "['new']" \
  "every X-Sig replaced by one"
expect_eq "$(json_field "$T/S.jsonl" 1 '[v for n, v in r["headers"] if n == "X-Added"]')" "['a b']" \
  "absent header added"
expect_eq "$(json_field "$T/S.jsonl" 1 '[v for n, v in r["headers"] if n == "Host"]')" \
  "['hooks.example.com']" "Host can be set"

rc=0
"$RAG" replay --last 1 --to "$S_URL" --set-header 'Content-Length: 1' 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 2 "Content-Length cannot be set"
rc=0
"$RAG" replay --last 1 --to "$S_URL" --set-header 'no colon' 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 2 "a malformed --set-header"
expect_eq "$(peer_count S)" 1 "nothing sent by the refused runs"
