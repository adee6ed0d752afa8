#!/usr/bin/env bash
# --dry-run prints, per delivery, the method, URL, every header and the body's size and
# SHA-256, and sends nothing: the target sees no request and the log gets no delivery.
source "$(dirname "$0")/lib.sh"
need curl sha256sum

start_listen L
printf 'dry body \x00 bytes' >"$T/body"
curl -sS -o /dev/null --data-binary "@$T/body" -H 'X-Trace: t1' -H 'Content-Type: text/plain' \
  "$L_URL/dry?q=1"
stop_listen L
start_peer S sink
before=$(wc -c <"$RAG_LOG")

rc=0
"$RAG" replay --last 1 --to "$S_URL/in" --set-header 'X-Trace: t2' --dry-run \
  >"$T/dry.out" 2>"$T/dry.err" || rc=$?
expect_eq "$rc" 0 "dry run exit code"
out=$(cat "$T/dry.out")
sha=$(sha256sum <"$T/body" | cut -d' ' -f1)
expect_contains "$out" "POST $S_URL/in?q=1" "method and URL"
expect_contains "$out" "  Host: ${S_URL#http://}" "Host header"
expect_contains "$out" "  X-Trace: t2" "--set-header applied"
expect_not_contains "$out" "t1" "the replaced value is gone"
expect_contains "$out" "  Content-Type: text/plain" "captured header"
expect_contains "$out" "  Content-Length: $(wc -c <"$T/body" | tr -d ' ')" "Content-Length"
expect_contains "$out" "body: $(wc -c <"$T/body" | tr -d ' ') bytes, sha256 $sha" "body size and sha256"
expect_contains "$(cat "$T/dry.err")" "nothing was sent" "dry run says so"

"$RAG" replay --last 1 --to "$S_URL" --dry-run --json >"$T/dry.json" 2>/dev/null || fail "--dry-run --json"
expect_eq "$(json_field "$T/dry.json" 1 'r["method"], r["url"], r["body_sha256"]')" \
  "('POST', '$S_URL/dry?q=1', '$sha')" "--dry-run --json"
expect_eq "$(json_field "$T/dry.json" 1 '[v for n, v in r["headers"] if n == "X-Trace"]')" "['t1']" \
  "--dry-run --json headers"

# A replay waits for its deliveries and the sink records a request before answering it,
# so anything sent would be in S.jsonl by now.
expect_eq "$(peer_count S)" 0 "nothing sent"
expect_eq "$(wc -c <"$RAG_LOG")" "$before" "nothing written to the log"
