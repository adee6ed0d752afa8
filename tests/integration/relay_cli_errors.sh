#!/usr/bin/env bash
# Bad flags are one line `rag: error: ...` and exit 2 before anything is bound; a busy
# port is one line and exit 1.
source "$(dirname "$0")/lib.sh"

usage_fails() { # WHAT ARGS...: `rag relay ARGS` exits 2 with one error line
  local what=$1
  shift
  local rc=0
  "$RAG" relay "$@" >"$T/out" 2>"$T/err" || rc=$?
  expect_eq "$rc" 2 "exit code for $what"
  expect_eq "$(wc -l <"$T/err" | tr -d ' ')" 1 "one line for $what"
  expect_contains "$(cat "$T/err")" "rag: error:" "error line for $what"
  expect_eq "$(cat "$T/out")" "" "nothing on stdout for $what"
}
usage_fails "a bad port" --listen 127.0.0.1:99999
usage_fails "a bad backlog age" --backlog-age 5x
usage_fails "a zero backlog" --backlog 0
usage_fails "a bad size" --max-body lots
usage_fails "a tiny backlog budget" --backlog-bytes 10
usage_fails "a tiny relay-wide budget" --max-held 10
usage_fails "a bad relay-wide budget" --max-held lots
usage_fails "a zero heartbeat" --heartbeat 0s
usage_fails "a bad sync timeout" --sync-timeout soon
usage_fails "a public URL that is not http" --public-url ftp://relay.example.com
usage_fails "a public URL with a query" --public-url 'https://relay.example.com/?a=1'
usage_fails "an unknown flag" --backlogg 5
expect_contains "$(cat "$T/err")" "did you mean --backlog" "did-you-mean for relay flags"

start_relay R
rc=0
"$RAG" relay --listen "127.0.0.1:$R_PORT" >"$T/busy.out" 2>"$T/busy.err" || rc=$?
expect_eq "$rc" 1 "exit code on a busy port"
expect_contains "$(cat "$T/busy.err")" "address already in use" "busy port message"
expect_eq "$(wc -l <"$T/busy.err" | tr -d ' ')" 1 "one line for a busy port"
stop_relay R
