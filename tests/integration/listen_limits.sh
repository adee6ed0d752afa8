#!/usr/bin/env bash
# Over-size bodies get 413 and over-size headers 431; each is logged as a refused
# event (no body; see listen_refused_recorded.sh) and the listener goes on serving.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L --max-body 1KiB

head -c 2048 /dev/zero >"$T/2k.bin"
code=$(curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$T/2k.bin" "$L_URL/big")
expect_eq "$code" 413 "Content-Length body over --max-body"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
  --data-binary "@$T/2k.bin" "$L_URL/big-chunked")
expect_eq "$code" 413 "chunked body over --max-body"

python3 -c 'print("X-Big: " + "a" * 70000)' >"$T/bighdr"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "@$T/bighdr" "$L_URL/hdr" || true)
expect_eq "$code" 431 "header over the 64 KiB head limit"

# A body of exactly the limit is fine, and the listener still serves.
head -c 1024 /dev/zero >"$T/1k.bin"
code=$(curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$T/1k.bin" "$L_URL/ok")
expect_eq "$code" 200 "body at the limit"
expect_eq "$(log_events)" 4 "the accepted request and the three refused ones are in the log"
expect_eq "$(grep -c '"rejected":{' "$RAG_LOG")" 3 "the three refusals are marked refused"
expect_contains "$(cat "$T/L.err")" "413" "the rejection is reported on stderr"

"$RAG" listen 127.0.0.1:0 --max-body lots >"$T/bad.out" 2>"$T/bad.err" && fail "bad --max-body accepted"
expect_contains "$(cat "$T/bad.err")" "invalid size 'lots'" "bad --max-body message"
stop_listen L
