# shellcheck shell=bash
# Shared helpers for integration tests. Each test script sources this file, runs
# the real rag binary ($RAG_BIN) on loopback with port 0, and exits 0 (pass),
# 1 (fail) or 77 (skip). Everything started here is stopped by the EXIT trap.
set -euo pipefail

# Where the runner is root, every test runs in a network namespace of its own that has
# only a loopback interface, so that a bug can never send anything off this machine (a
# target string turned into a lookup of a host nobody named, say). RAG_TEST_ISOLATED says
# which it was: 1 isolated, 0 not (not root, or no unshare/ip, or namespaces refused).
# A test that needs the outside (an npm install) sets RAG_TEST_NETWORK=host first.
if [ -z "${RAG_TEST_ISOLATED:-}" ]; then
  if [ "${RAG_TEST_NETWORK:-}" != host ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
    unshare --net true 2>/dev/null; then
    export RAG_TEST_ISOLATED=1
    # shellcheck disable=SC2016 # expanded by the inner bash
    exec unshare --net -- bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
  fi
  export RAG_TEST_ISOLATED=0
fi

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

# start_rag_server NAME LABEL ARGS...: run `rag ARGS` in the background, wait for its
# "Ready!" banner, and set NAME_PID, NAME_URL (the bound base URL) and NAME_PORT. Its
# stdout goes to $T/NAME.out and stderr to $T/NAME.err; LABEL names it in failures.
start_rag_server() {
  local name=$1 label=$2
  shift 2
  "$RAG" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 grep -q 'Ready!' "$T/$name.err" || fail "$label printed no banner"
  local url
  url=$(grep -o 'http://[^ ]*' "$T/$name.err" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_URL" '%s' "$url"
  printf -v "${name}_PORT" '%s' "${url##*:}"
}

# stop_rag_server NAME LABEL [SECONDS]: SIGTERM it and expect a clean exit 0 within
# SECONDS (default 10).
stop_rag_server() {
  local pid_var="${1}_PID"
  local pid=${!pid_var} limit=${3:-10}
  kill -TERM "$pid"
  wait_for "$limit" '! kill -0 '"$pid" || fail "$2 did not stop within $limit s of SIGTERM"
  local rc=0
  wait "$pid" || rc=$?
  expect_eq "$rc" 0 "$2 exit code after SIGTERM"
}

# start_listen NAME [ADDR] [ARGS...]: start `rag listen ADDR ARGS` (ADDR defaults to
# 127.0.0.1:0) like start_rag_server.
start_listen() {
  local name=$1
  shift
  local address=127.0.0.1:0
  if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
    address=$1
    shift
  fi
  start_rag_server "$name" "rag listen ($name)" listen "$address" "$@"
}

# stop_listen NAME: SIGTERM the listener and expect a clean exit 0.
stop_listen() { stop_rag_server "$1" "rag listen ($1)"; }

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

# start_relay NAME [ARGS...]: start `rag relay --listen 127.0.0.1:0 ARGS` in the background,
# wait for its banner, and set NAME_PID, NAME_URL (the bound base URL) and NAME_PORT. Its
# stdout goes to $T/NAME.out and stderr to $T/NAME.err.
start_relay() {
  local name=$1
  shift
  start_rag_server "$name" "rag relay ($name)" relay --listen 127.0.0.1:0 "$@"
}

# stop_relay NAME: SIGTERM the relay and expect a clean exit 0 within 10 seconds.
stop_relay() { stop_rag_server "$1" "rag relay ($1)"; }

# new_channel RELAY_URL: print the channel URL that GET RELAY_URL/new redirects to.
new_channel() {
  curl -s -o /dev/null -w '%{redirect_url}' "$1/new"
}

# subscribe_sse NAME URL [CURL_ARGS...]: stream URL's server-sent events into $T/NAME.sse
# in the background (curl -N), wait for the `ready` event and set NAME_PID.
subscribe_sse() {
  local name=$1 url=$2
  shift 2
  curl -sN -H 'Accept: text/event-stream' "$@" "$url" >"$T/$name.sse" 2>"$T/$name.curl.err" &
  local pid=$!
  PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  wait_for 10 grep -q '^event: ready' "$T/$name.sse" || fail "subscriber $name got no ready event"
}

# sse_events FILE: print the events of a text/event-stream capture as JSON lines
# {"id":..,"event":..,"data":..} (event "" = message), in order.
sse_events() {
  python3 - "$1" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().replace("\r\n", "\n").replace("\r", "\n")
last_id, event, data = "", "", None
for line in text.split("\n"):
    if line == "":
        if data is not None:
            print(json.dumps({"id": last_id, "event": event, "data": "\n".join(data)}))
        event, data = "", None
        continue
    if line.startswith(":"):
        continue
    field, _, value = line.partition(":")
    value = value[1:] if value.startswith(" ") else value
    if field == "id":
        last_id = value
    elif field == "event":
        event = value
    elif field == "data":
        data = (data or []) + [value]
PY
}

# sse_message_count FILE: number of message (webhook) events in a capture.
sse_message_count() {
  sse_events "$1" | grep -c '"event": ""' || true
}

# sse_ready_id FILE: the id the first `ready` event of a capture carries.
sse_ready_id() {
  sse_events "$1" | python3 -c '
import json, sys
ids = [e["id"] for e in map(json.loads, sys.stdin) if e["event"] == "ready"]
print(ids[0] if ids else "")'
}

# sse_message_ids FILE: the ids of the message (webhook) events of a capture, one a line.
sse_message_ids() {
  sse_events "$1" | python3 -c '
import json, sys
for e in map(json.loads, sys.stdin):
    if e["event"] == "":
        print(e["id"])'
}

# start_fake_relay NAME MESSAGES_FILE [ARGS...]: start tests/support/fake_relay.py serving
# the canned messages of MESSAGES_FILE (see that script), recording subscriptions and
# replies to $T/NAME.rec; sets NAME_PID, NAME_URL and NAME_PORT.
start_fake_relay() {
  local name=$1 messages=$2
  shift 2
  python3 "$SRC/tests/support/fake_relay.py" --messages "$messages" --record "$T/$name.rec" \
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 grep -q 'listening on' "$T/$name.out" || fail "fake relay ($name) did not start"
  local url
  url=$(grep -o 'http://[^ ]*' "$T/$name.out" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_URL" '%s' "$url"
  printf -v "${name}_PORT" '%s' "${url##*:}"
}

# fake_relay_records NAME KIND: the fake relay's records of KIND (subscribe or reply) as
# JSON lines, in order.
fake_relay_records() {
  if [ -f "$T/$1.rec" ]; then grep "\"kind\": \"$2\"" "$T/$1.rec" || true; fi
}

# start_tunnel NAME [ARGS...]: start `rag tunnel ARGS` in the background and wait for its
# "Forwarding" banner; sets NAME_PID and NAME_CHANNEL (the channel URL it uses). Its
# stdout goes to $T/NAME.out and stderr to $T/NAME.err.
start_tunnel() {
  local name=$1
  shift
  "$RAG" tunnel "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 15 grep -q '^Forwarding ' "$T/$name.err" || fail "rag tunnel ($name) printed no banner"
  local channel
  channel=$(sed -n 's/^Forwarding \([^ ]*\) to .*/\1/p' "$T/$name.err" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_CHANNEL" '%s' "$channel"
}

# tunnel_connections NAME: how many times the tunnel NAME said it connected.
tunnel_connections() {
  grep -c '^Connected to ' "$T/$1.err" || true
}

# wait_tunnel_connected NAME [N]: wait until the tunnel NAME connected N times (default 1).
wait_tunnel_connected() {
  local name=$1 count=${2:-1}
  local deadline=$((SECONDS + 20))
  until [ "$(tunnel_connections "$name")" -ge "$count" ]; do
    ((SECONDS < deadline)) || fail "rag tunnel ($name) did not connect (${count}x)"
    sleep 0.05
  done
}

# stop_tunnel NAME: SIGTERM the tunnel and expect a clean exit 0 within 15 seconds.
stop_tunnel() { stop_rag_server "$1" "rag tunnel ($1)" 15; }

# start_tcp_proxy NAME TARGET_PORT [PORT]: start tests/support/tcp_proxy.py piping
# 127.0.0.1:PORT (default: a free one) to 127.0.0.1:TARGET_PORT; sets NAME_PID, NAME_PORT.
start_tcp_proxy() {
  local name=$1 target=$2 port=${3:-0}
  python3 "$SRC/tests/support/tcp_proxy.py" --target "$target" --port "$port" \
    >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 grep -q 'listening on' "$T/$name.out" || fail "tcp proxy ($name) did not start"
  local address
  address=$(grep -o '127.0.0.1:[0-9]*' "$T/$name.out" | head -n 1)
  printf -v "${name}_PID" '%s' "$pid"
  printf -v "${name}_PORT" '%s' "${address##*:}"
}

# install_smee_client: install the public smee-client from npm into $T/npm and set
# `smee` to its bin/smee.js; skip (77) without node/npm or when the install fails
# (offline). The versions the tests were checked with: 5.0.0 needs node >= 20.18;
# 3.1.1 runs on node 18 (Debian 12's nodejs). RAG_SMEE_VERSION overrides. A test that
# calls it sets RAG_TEST_NETWORK=host before sourcing this file (npm needs the registry).
install_smee_client() {
  command -v node >/dev/null 2>&1 || skip "node is not installed (Debian: nodejs)"
  command -v npm >/dev/null 2>&1 || skip "npm is not installed (Debian: npm)"
  local version
  if node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)'; then
    version=${RAG_SMEE_VERSION:-5.0.0}
  else
    version=${RAG_SMEE_VERSION:-3.1.1}
  fi
  if ! timeout 120 npm install --prefix "$T/npm" --no-audit --no-fund --loglevel=error \
    "smee-client@$version" >"$T/npm.log" 2>&1; then
    skip "npm install smee-client@$version failed (offline?): $(tail -n 1 "$T/npm.log")"
  fi
  # shellcheck disable=SC2034 # read by the test that calls this
  smee="$T/npm/node_modules/smee-client/bin/smee.js"
  [ -f "$smee" ] || skip "smee-client@$version has no bin/smee.js"
}
