#!/usr/bin/env bash
# The request head is kept as sent: header order, name case, duplicates, empty
# values, percent-encoded values not decoded, and the raw target with odd encoding.
source "$(dirname "$0")/lib.sh"
need python3

start_listen L

target='/p/a%2Fb;x?q=a+b,c;d%20e&x=1&x=2&u=%E2%9C%93&raw=✓&empty='
{
  printf 'PATCH %s HTTP/1.1\r\n' "$target"
  printf 'Host: example.test\r\n'
  printf 'Zeta: 1\r\n'
  printf 'alpha: 2\r\n'
  printf 'X-Dup: a\r\n'
  printf 'x-dup: b\r\n'
  printf 'X-DUP: c\r\n'
  printf 'X-Empty:\r\n'
  printf 'X-Pct: a%%20b%%0D%%0AX-Inj: 1\r\n'
  printf 'REMOTE_ADDR: 6.6.6.6\r\n'
  printf 'Content-Length: 2\r\n'
  printf 'Connection: close\r\n'
  printf '\r\n{}'
} >"$T/req"
answer=$(raw_http "$L_PORT" "$T/req")
expect_contains "$answer" "HTTP/1.1 200" "answer"

expected="PATCH $target HTTP/1.1
Host: example.test
Zeta: 1
alpha: 2
X-Dup: a
x-dup: b
X-DUP: c
X-Empty: 
X-Pct: a%20b%0D%0AX-Inj: 1
REMOTE_ADDR: 6.6.6.6
Content-Length: 2
Connection: close"
expect_eq "$("$RAG" inspect --headers)" "$expected" "request head through rag inspect --headers"

json=$("$RAG" inspect --json)
expect_contains "$json" "\"target\":\"$target\"" "raw target in the record"
expect_contains "$json" '"method":"PATCH"' "method"
expect_contains "$json" '"remote":"127.0.0.1:' "remote address from the socket, not a header"
expect_not_contains "$json" '"remote":"6.6.6.6' "REMOTE_ADDR header is not trusted"
expect_contains "$json" '["X-Empty",""]' "empty header kept"
stop_listen L
