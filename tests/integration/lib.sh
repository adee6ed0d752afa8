# shellcheck shell=bash
# Shared helpers for integration tests. Each test script sources this file, runs
# the real rag binary ($RAG_BIN) on loopback with port 0, and exits 0 (pass),
# 1 (fail) or 77 (skip). Everything started here is stopped by the EXIT trap.
set -euo pipefail

RAG=${RAG_BIN:?RAG_BIN must point at the rag binary}
SRC=${RAG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/rag-test.XXXXXX")
export RAG_LOG="$T/events.jsonl"
export NO_COLOR=1
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/*.err; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

skip() {
  echo "SKIP: $*" >&2
  exit 77
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (run .ci/deps)"
  done
}

expect_eq() { # ACTUAL EXPECTED WHAT
  [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"
}

expect_contains() { # HAYSTACK NEEDLE WHAT
  [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"
}

expect_not_contains() { # HAYSTACK NEEDLE WHAT
  [[ "$1" != *"$2"* ]] || fail "$3: '$2' unexpectedly found in: $1"
}

# wait_for DEADLINE_SECONDS COMMAND...: retry COMMAND every 50 ms until it succeeds.
# A single argument is evaluated anew each time, so it can hold $(...) to re-check:
#   wait_for 5 '[ "$(log_deliveries)" -eq 3 ]'
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  local check=("$@")
  if [ $# -eq 1 ]; then check=(eval "$1"); fi
  until "${check[@]}" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# start_listen NAME [ARGS...]: start `rag listen 127.0.0.1:0 ARGS` in the background,
# wait for its banner, and set NAME_PID, NAME_URL, NAME_PORT. Its stdout goes to
# $T/NAME.out and stderr to $T/NAME.err.
start_listen() {
  local name=$1
  shift
  local address=127.0.0.1:0
  if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
    address=$1
    shift
  fi
  "$RAG" listen "$address" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 grep -q 'Ready!' "$T/$name.err" || fail "rag listen ($name) printed no banner"
  local url
  url=$(grep -o 'http://[^ ]*' "$T/$name.err" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_URL" '%s' "$url"
  printf -v "${name}_PORT" '%s' "${url##*:}"
}

# stop_listen NAME: SIGTERM the listener and expect a clean exit 0.
stop_listen() {
  local pid_var="${1}_PID"
  local pid=${!pid_var}
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  expect_eq "$rc" 0 "rag listen ($1) exit code after SIGTERM"
}

# raw_http PORT FILE: send FILE's bytes as-is to 127.0.0.1:PORT, print the response.
raw_http() {
  python3 "$SRC/tests/support/raw_http.py" "$1" "$2"
}

# log_events: number of event records in the log.
log_events() {
  if [ -f "$RAG_LOG" ]; then grep -c '"kind":"event"' "$RAG_LOG" || true; else echo 0; fi
}

# start_peer NAME MODE [ARGS...]: start rag-test-peer (sink/echo/fail/hold) on a free
# port, recording every request it receives to $T/NAME.jsonl; sets NAME_PID, NAME_URL.
start_peer() {
  local name=$1 mode=$2
  shift 2
  local peer=${RAG_PEER:?RAG_PEER must point at rag-test-peer}
  "$peer" "$mode" --out "$T/$name.jsonl" "$@" >"$T/$name.peer.out" 2>"$T/$name.peer.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 grep -q 'listening on' "$T/$name.peer.out" || fail "test peer ($name) did not start"
  local url
  url=$(grep -o 'http://[^ ]*' "$T/$name.peer.out" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_URL" '%s' "$url"
}

# peer_count NAME: number of requests the peer NAME received so far.
peer_count() {
  if [ -f "$T/$1.jsonl" ]; then wc -l <"$T/$1.jsonl" | tr -d ' '; else echo 0; fi
}

# log_deliveries: number of delivery records in the log.
log_deliveries() {
  if [ -f "$RAG_LOG" ]; then grep -c '"kind":"delivery"' "$RAG_LOG" || true; else echo 0; fi
}

# json_field FILE LINE_NO EXPR: evaluate a Python expression on line LINE_NO (1-based)
# of a JSON Lines file, with the parsed line bound to `r`.
json_field() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
r = json.loads(lines[int(sys.argv[2]) - 1])
print(eval(sys.argv[3]))
PY
}
