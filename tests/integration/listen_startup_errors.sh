#!/usr/bin/env bash
# A busy port, a bad address and an unwritable log are each one clear error line
# and exit 1 (2 for a malformed address), before anything is served.
source "$(dirname "$0")/lib.sh"

start_listen L

rc=0
"$RAG" listen "127.0.0.1:$L_PORT" >"$T/busy.out" 2>"$T/busy.err" || rc=$?
expect_eq "$rc" 1 "exit code on a busy port"
expect_eq "$(wc -l <"$T/busy.err")" 1 "one line of error on a busy port"
expect_contains "$(cat "$T/busy.err")" "rag: error: cannot listen on 127.0.0.1:$L_PORT: address already in use" \
  "busy port message"

rc=0
"$RAG" listen 127.0.0.1:99999 >"$T/port.out" 2>"$T/port.err" || rc=$?
expect_eq "$rc" 2 "exit code for port 99999"
expect_contains "$(cat "$T/port.err")" "invalid listen address '127.0.0.1:99999'" "bad port message"

rc=0
"$RAG" listen 256.1.1.1:0 >"$T/addr.out" 2>"$T/addr.err" || rc=$?
expect_eq "$rc" 1 "exit code for an address that is not an address"
expect_eq "$(wc -l <"$T/addr.err")" 1 "one line of error for a bad address"
expect_contains "$(cat "$T/addr.err")" "256.1.1.1" "bad address named"

mkdir -p "$T/ro"
chmod 0500 "$T/ro"
if [ "$(id -u)" -eq 0 ]; then
  # root ignores directory permissions: use a path under a regular file instead.
  touch "$T/file"
  bad_log="$T/file/events.jsonl"
  bad_part="$T/file"
else
  bad_log="$T/ro/events.jsonl"
  bad_part="$T/ro"
fi
rc=0
"$RAG" listen 127.0.0.1:0 --log "$bad_log" >"$T/log.out" 2>"$T/log.err" || rc=$?
expect_eq "$rc" 1 "exit code for an unwritable log"
expect_eq "$(wc -l <"$T/log.err")" 1 "one line of error for an unwritable log"
expect_contains "$(cat "$T/log.err")" "$bad_part" "the unwritable path is named"
expect_not_contains "$(cat "$T/log.err")" "Ready" "nothing served"
stop_listen L
