#!/usr/bin/env bash
# Fan-out to three targets: each receives the identical body bytes and the headers
# in the original order and case (hop-by-hop dropped, Host set to the target,
# X-Forwarded-* added); the sender gets the primary's status, headers and body.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink --status 201 --body 'primary says hi' --header 'X-From-Primary: yes'
start_peer B sink --status 500
start_peer C sink
start_listen L -f "$A_URL" -f "$B_URL/hooks/b" --route "/gh=$C_URL"

python3 -c 'import sys; sys.stdout.buffer.write(b"{\"bin\":\"\x00\xff\"}" + bytes(range(256)))' >"$T/body"
curl -sS -D "$T/answer.head" -o "$T/answer.body" --data-binary "@$T/body" \
  -H 'Zeta: 1' -H 'alpha: 2' -H 'X-Dup: a' -H 'x-dup: b' -H 'X-Empty;' \
  -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: dropped' -H 'Content-Type: application/json' \
  "$L_URL/gh/push?a=1&b=%20"

expect_contains "$(head -n 1 "$T/answer.head")" "HTTP/1.1 201" "sender gets the primary's status"
expect_eq "$(cat "$T/answer.body")" "primary says hi" "sender gets the primary's body"
expect_contains "$(cat "$T/answer.head")" "X-From-Primary: yes" "sender gets the primary's headers"

wait_for 5 '[ "$(log_deliveries)" -eq 3 ]' || fail "expected 3 delivery records, got $(log_deliveries)"
sha=$(sha256sum <"$T/body" | cut -d' ' -f1)
for peer in A B C; do
  expect_eq "$(peer_count "$peer")" 1 "requests received by $peer"
  expect_eq "$(json_field "$T/$peer.jsonl" 1 'r["body_sha256"]')" "$sha" "body bytes at $peer"
  expect_eq "$(json_field "$T/$peer.jsonl" 1 'r["method"]')" POST "method at $peer"
  names=$(json_field "$T/$peer.jsonl" 1 '" ".join(h[0] for h in r["headers"])')
  expect_eq "$names" \
    "Host User-Agent Accept Zeta alpha X-Dup x-dup X-Empty Content-Type Content-Length X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto" \
    "header order and case at $peer"
  expect_eq "$(json_field "$T/$peer.jsonl" 1 '[v for n, v in r["headers"] if n == "X-Empty"]')" "['']" \
    "empty header kept at $peer"
done
expect_eq "$(json_field "$T/A.jsonl" 1 'r["target"]')" "/gh/push?a=1&b=%20" "A keeps path and query"
expect_eq "$(json_field "$T/B.jsonl" 1 'r["target"]')" "/hooks/b?a=1&b=%20" "B's path replaces the path"
expect_eq "$(json_field "$T/C.jsonl" 1 'r["target"]')" "/push?a=1&b=%20" "the route strips its prefix"
expect_eq "$(json_field "$T/A.jsonl" 1 '[v for n, v in r["headers"] if n == "Host"][0]')" \
  "${A_URL#http://}" "Host is the target's"
# stdout is a file, so rag writes its lines in batches (within 50 ms): wait for the line.
wait_for 5 grep -qF "→ 500 $B_URL/hooks/b" "$T/L.out" || true
expect_contains "$(cat "$T/L.out")" "→ 500 $B_URL/hooks/b" "delivery line for B"
row=$("$RAG" inspect | tail -n 1)
for status in 201 500 200; do expect_contains "$row" " $status" "status $status in the table row"; done
stop_listen L
