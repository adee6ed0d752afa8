#!/usr/bin/env bash
# Requests RFC 9112 makes a server refuse (HTTP/1.1 without Host, two Host lines,
# Transfer-Encoding in HTTP/1.0) get 400, a transfer coding other than chunked gets
# 501 as from nginx: each answer names the problem and closes the connection, the log
# records it as a refused event, stderr says why, and the listener goes on serving.
source "$(dirname "$0")/lib.sh"
need python3

start_listen L

# refused NAME STATUS_LINE REASON: send $T/NAME.req raw, check the answer and the stderr line.
refused() {
  local answer
  answer=$(raw_http "$L_PORT" "$T/$1.req" | tr -d '\r')
  expect_eq "$(head -n 1 <<<"$answer")" "$2" "$1: status line"
  expect_contains "$answer" "Connection: close" "$1: the connection is closed"
  expect_contains "$answer" "{\"error\":\"$3\"}" "$1: the body names the problem"
  expect_contains "$(cat "$T/L.err")" "with ${2:9:3}: $3" "$1: the rejection on stderr"
}

printf 'POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
  >"$T/gzip.req"
refused gzip "HTTP/1.1 501 Not Implemented" "unsupported transfer-encoding"
printf 'POST /no-host HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}' >"$T/no_host.req"
refused no_host "HTTP/1.1 400 Bad Request" "missing host header"
printf 'GET /two HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' >"$T/two_hosts.req"
refused two_hosts "HTTP/1.1 400 Bad Request" "more than one host header"
printf 'POST /old HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$T/old_te.req"
refused old_te "HTTP/1.1 400 Bad Request" "transfer-encoding in an http/1.0 request"
expect_eq "$(log_events)" 4 "every refusal is logged"
expect_eq "$(grep -c '"rejected":{' "$RAG_LOG")" 4 "as a refused event"

# An HTTP/1.0 client that sends no Host and a chunked HTTP/1.1 request are still served.
printf 'POST /old-client HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}' >"$T/old.req"
expect_contains "$(raw_http "$L_PORT" "$T/old.req")" "HTTP/1.1 200" "HTTP/1.0 without Host"
printf 'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n' \
  >"$T/chunked.req"
expect_contains "$(raw_http "$L_PORT" "$T/chunked.req")" "HTTP/1.1 200" "Transfer-Encoding: Chunked"
expect_eq "$(log_events)" 6 "both are captured"
expect_eq "$(grep -c '"rejected":{' "$RAG_LOG")" 4 "neither is marked refused"
stop_listen L
