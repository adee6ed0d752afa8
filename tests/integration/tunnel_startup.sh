#!/usr/bin/env bash
# rag tunnel at startup: a bad URL or flag is a usage error (exit 2) and an unwritable
# log a runtime error (exit 1), both before any connection; a relay that cannot be
# reached yet is retried with backoff (the state shown on stderr) until it can, and
# Ctrl-C while waiting exits 0.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

expect_exit() { # CODE NEEDLE ARGS...
  local code=$1 needle=$2 rc=0
  shift 2
  "$RAG" tunnel "$@" >"$T/usage.out" 2>"$T/usage.err" || rc=$?
  expect_eq "$rc" "$code" "exit code of rag tunnel $*"
  expect_contains "$(cat "$T/usage.err")" "$needle" "message of rag tunnel $*"
}
expect_exit 2 "invalid channel URL 'ftp://smee.io/abc'" ftp://smee.io/abc
expect_exit 2 "no channel in it" https://smee.io
expect_exit 2 "no channel in it" https://smee.io/
expect_exit 2 "invalid channel URL 'smee.io/abc'" smee.io/abc
expect_exit 2 "--relay is for asking a relay for a new channel" https://smee.io/abc \
  --relay https://smee.io
expect_exit 2 "invalid relay URL" --relay smee.io
expect_exit 2 "--reject-invalid needs a signature to check" https://smee.io/abc --reject-invalid
expect_exit 2 "did you mean --respond-back?" https://smee.io/abc --respond-bak
expect_exit 1 "cannot create event log directory" http://127.0.0.1:9/c --log /proc/rag/none/events.jsonl

# A free port for a relay that is not there yet.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo '[{"id": "m-1", "data": {"content-type": "text/plain", "body": {}, "query": {}, "timestamp": 1}}]' \
  >"$T/messages.json"
start_peer SINK sink
start_tunnel tunnel "http://127.0.0.1:$port/chan" -f "$SINK_URL"
wait_for 10 'grep -q "Reconnecting in" "$T/tunnel.err"' || fail "no reconnect shown"
expect_contains "$(cat "$T/tunnel.err")" \
  "Cannot connect to the relay: cannot connect to http://127.0.0.1:$port." "state shown"
start_fake_relay FR "$T/messages.json" --port "$port"
wait_tunnel_connected tunnel
wait_for 10 '[ "$(peer_count SINK)" -eq 1 ]' || fail "the webhook did not arrive"
stop_tunnel tunnel

# Asking an unreachable relay for a channel is retried too, until Ctrl-C (exit 0).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$RAG" tunnel --relay "http://127.0.0.1:$port" -f "$SINK_URL" >"$T/new.out" 2>"$T/new.err" &
new_PID=$!
PIDS+=("$new_PID")
wait_for 10 'grep -q "Retrying in" "$T/new.err"' || fail "no retry of /new shown"
expect_contains "$(cat "$T/new.err")" "Cannot reach the relay: cannot get a new channel from" \
  "state shown while asking for a channel"
kill -INT "$new_PID"
rc=0
wait "$new_PID" || rc=$?
expect_eq "$rc" 0 "exit code after Ctrl-C while waiting for the relay"
