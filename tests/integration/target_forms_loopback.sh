#!/usr/bin/env bash
# Every target form the docs use means this machine: `PORT`, `:PORT` and `PORT/PATH` reach
# the service on 127.0.0.1:PORT, from listen (-f, --route, --config), trigger --to,
# replay --to and tunnel -f. A host that is a number (`http://4000/x`, `127.1`) is a usage
# error, never a lookup. Where the runner is root this runs in a loopback-only network
# namespace (lib.sh), so a target that left loopback fails to connect instead of leaving.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer SINK sink
port=${SINK_URL##*:}

# What the sink received, one raw target per line, in arrival order.
sink_targets() {
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["target"])' "$T/SINK.jsonl"
}
expect_target() { # TARGET WHAT: wait until the sink has received TARGET
  # shellcheck disable=SC2034 # read by the check wait_for evaluates
  want=$1
  wait_for 10 'sink_targets | grep -qxF -- "$want"' ||
    fail "$2: the sink never got $1 (it got: $(sink_targets | tr '\n' ' '))"
}

# rag listen: -f PORT/PATH, -f :PORT/PATH, --route PREFIX=PORT/PATH, a config target.
cat >"$T/rag.json" <<JSON
{ "routes": [ { "path": "/cfg", "to": ["$port/from-config"] } ] }
JSON
start_listen L 127.0.0.1:0 -f "$port/hooks" --route "/gh=$port/github" --config "$T/rag.json"
curl -sS -o /dev/null -X POST --data 'one' "$L_URL/anything?x=1" || fail "POST to listen"
expect_target "/hooks?x=1" "listen -f $port/hooks"
curl -sS -o /dev/null -X POST --data 'two' "$L_URL/gh/push" || fail "POST /gh to listen"
expect_target "/github" "listen --route /gh=$port/github"
curl -sS -o /dev/null -X POST --data 'three' "$L_URL/cfg/x" || fail "POST /cfg to listen"
expect_target "/from-config" "listen --config to: $port/from-config"
stop_listen L

start_listen L2 127.0.0.1:0 -f ":$port/colon"
curl -sS -o /dev/null -X POST --data 'four' "$L2_URL/" || fail "POST to listen (:PORT/PATH)"
expect_target "/colon" "listen -f :$port/colon"
stop_listen L2

# rag trigger --to PORT/PATH (the form of trigger's --help and docs/signatures.md).
"$RAG" trigger github.push --to "$port/webhooks/github" --secret s >"$T/trigger.out" \
  2>"$T/trigger.err" || fail "rag trigger --to $port/webhooks/github failed"
expect_target "/webhooks/github" "trigger --to $port/webhooks/github"

# rag replay --to PORT/PATH.
"$RAG" replay --last 1 --to "$port/replayed" >"$T/replay.out" 2>"$T/replay.err" ||
  fail "rag replay --to $port/replayed failed"
expect_target "/replayed" "replay --to $port/replayed"

# rag tunnel -f PORT/PATH through a rag relay.
start_relay R
channel_url=$(new_channel "$R_URL")
start_tunnel tunnel "$channel_url" -f "$port/tunneled"
wait_tunnel_connected tunnel
curl -sS -o /dev/null -X POST --data '{"a":1}' -H 'Content-Type: application/json' \
  "$channel_url" || fail "POST to the relay channel"
expect_target "/tunneled" "tunnel -f $port/tunneled"
stop_tunnel tunnel
stop_relay R

# A host that is a number is refused up front, with exit 2, on every command.
for bad in "http://$port/hooks" "http://127.1:$port/" "http://2130706433:$port/"; do
  rc=0
  "$RAG" listen 127.0.0.1:0 -f "$bad" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
  expect_eq "$rc" 2 "listen -f $bad exit code"
  expect_contains "$(cat "$T/bad.err")" "is a number" "listen -f $bad message"
  expect_eq "$(wc -l <"$T/bad.err")" 1 "listen -f $bad: one line"
  rc=0
  "$RAG" trigger github.push --to "$bad" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
  expect_eq "$rc" 2 "trigger --to $bad exit code"
  rc=0
  "$RAG" replay --last 1 --to "$bad" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
  expect_eq "$rc" 2 "replay --to $bad exit code"
done

# Nothing else reached the sink, and each form above arrived exactly once (-f gets every
# request to its listener, so /hooks three times; routes and the config get theirs).
# (Sorted: the targets of one request are called at once, in any order.)
expect_eq "$(sink_targets | sort | tr '\n' ' ')" \
  "/colon /from-config /github /hooks /hooks /hooks?x=1 /replayed /tunneled /webhooks/github " \
  "requests at the sink"
echo "ok: every documented target form stayed on 127.0.0.1 (isolated=$RAG_TEST_ISOLATED)"
