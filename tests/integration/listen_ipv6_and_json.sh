#!/usr/bin/env bash
# IPv6 loopback works, port 0 prints the real bound URL, and --json prints the
# captured event record (the same line the log holds) on stdout.
source "$(dirname "$0")/lib.sh"
need curl python3

python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
  skip "no IPv6 loopback on this machine"

start_listen L '[::1]:0' --json
expect_contains "$L_URL" "http://[::1]:" "banner shows the bound IPv6 URL"
[ "$L_PORT" -gt 0 ] || fail "port 0 was not replaced by the real port"
code=$(curl -sS -o /dev/null -w '%{http_code}' -d 'v6' "http://[::1]:$L_PORT/six")
expect_eq "$code" 200 "request over IPv6"
wait_for 5 grep -q '"kind":"event"' "$T/L.out" || fail "no JSON line on stdout"
expect_eq "$(head -n 1 "$T/L.out")" "$(head -n 1 "$RAG_LOG")" "--json prints the log record"
expect_contains "$(cat "$T/L.out")" "\"source\":\"listen:[::1]:$L_PORT\"" "source names the listener"
stop_listen L
