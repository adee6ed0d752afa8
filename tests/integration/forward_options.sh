#!/usr/bin/env bash
# --preserve-host keeps the sender's Host; --timeout gives up on a silent target with
# "timeout after …"; Ctrl-C (SIGTERM) lets a running delivery finish before exiting 0.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink
start_listen L -f "$A_URL" --preserve-host
curl -sS -o /dev/null -H 'Host: hooks.example.com' -d 'x' "$L_URL/host"
expect_eq "$(json_field "$T/A.jsonl" 1 '[v for n, v in r["headers"] if n == "Host"][0]')" \
  "hooks.example.com" "--preserve-host keeps the sender's Host"
expect_eq "$(json_field "$T/A.jsonl" 1 '[v for n, v in r["headers"] if n == "X-Forwarded-Host"][0]')" \
  "hooks.example.com" "X-Forwarded-Host is the sender's Host"
stop_listen L

start_peer H hold --hold-file "$T/release"
export RAG_LOG="$T/timeout.jsonl"
start_listen M -f "$H_URL" --timeout 300ms
answer=$(curl -sS -w '\n%{http_code}' -d 'x' "$M_URL/slow")
expect_eq "$(tail -n 1 <<<"$answer")" 502 "a timed-out primary gives 502"
expect_contains "$answer" '"error":"timeout after 300ms"' "timeout named in the answer"
# The record is written just after the answer went out.
wait_for 5 grep -q '"error":"timeout after 300ms"' "$RAG_LOG" ||
  fail "timeout in the delivery record: not found in: $(cat "$RAG_LOG")"
rc=0
"$RAG" listen 127.0.0.1:0 -f "$H_URL" --timeout soon 2>"$T/bad.err" || rc=$?
expect_eq "$rc" 2 "a bad --timeout is a usage error"
expect_contains "$(cat "$T/bad.err")" "soon" "the bad value is named"
stop_listen M

# Ctrl-C while a delivery is in flight: the delivery completes and is recorded.
export RAG_LOG="$T/drain.jsonl"
start_peer G hold --hold-file "$T/release-drain"
start_listen D -f "$G_URL" --respond 202
code=$(curl -sS -o /dev/null -w '%{http_code}' -d 'x' "$D_URL/drain")
expect_eq "$code" 202 "answered at once"
wait_for 5 '[ "$(peer_count G)" -eq 1 ]' || fail "delivery did not start"
kill -TERM "$D_PID"
sleep 0.3
kill -0 "$D_PID" 2>/dev/null || fail "rag listen exited without waiting for the delivery"
touch "$T/release-drain"
rc=0
wait "$D_PID" || rc=$?
expect_eq "$rc" 0 "exit code after Ctrl-C"
expect_eq "$(log_deliveries)" 1 "the in-flight delivery was recorded"
expect_contains "$(cat "$RAG_LOG")" '"status":200' "the in-flight delivery completed"
