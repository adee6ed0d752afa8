#!/usr/bin/env bash
# The trailer fields of a chunked request (after the last chunk) are kept in the event
# record as `trailers`, in order, with their case and duplicates; `rag inspect` shows
# them after the body. They are not forwarded: the target gets the de-chunked body with
# Content-Length and the headers as captured.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

start_peer A sink
start_listen L -f "$A_URL"

printf 'POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: sha256=abc\r\nx-checksum: again\r\nX-Empty:\r\n\r\n' \
  >"$T/trailers.req"
expect_contains "$(raw_http "$L_PORT" "$T/trailers.req")" "HTTP/1.1 200" "answered"
wait_for 5 '[ "$(peer_count A)" -eq 1 ]' || fail "the request was not forwarded"

"$RAG" inspect --json --last 1 >"$T/event.jsonl"
expect_eq "$(json_field "$T/event.jsonl" 1 'r["trailers"]')" \
  "[['X-Checksum', 'sha256=abc'], ['x-checksum', 'again'], ['X-Empty', '']]" "trailers kept in order"
expect_eq "$(json_field "$T/event.jsonl" 1 'r["body"]')" "hello" "the de-chunked body"
expect_eq "$(json_field "$T/event.jsonl" 1 '[n for n, *_ in r["headers"]]')" \
  "['Host', 'Transfer-Encoding', 'Connection']" "the head stays as sent"

id=$(json_field "$T/event.jsonl" 1 'r["id"]')
detail=$("$RAG" inspect "$id")
expect_contains "$detail" "trailers (after the body; not forwarded)
X-Checksum: sha256=abc
x-checksum: again
X-Empty: " "the detail view shows them after the body"

names=$(json_field "$T/A.jsonl" 1 '[n.lower() for n, *_ in r["headers"]]')
expect_not_contains "$names" "x-checksum" "trailers are not forwarded as headers"
expect_not_contains "$names" "x-empty" "no trailer is forwarded"
expect_eq "$(json_field "$T/A.jsonl" 1 'r["body_b64"]')" "$(printf hello | base64)" "the body"

# A request without trailers has no field at all: old readers see what they always saw.
printf 'POST /plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n' \
  >"$T/plain.req"
raw_http "$L_PORT" "$T/plain.req" >/dev/null
expect_not_contains "$("$RAG" inspect --json --last 1)" "trailers" "no trailers, no field"
"$RAG" log verify >/dev/null 2>&1 || fail "the log has bad lines"
stop_listen L
