#!/usr/bin/env bash
# `rag trigger` failures: an unknown sample is a usage error with "did you mean"; a missing
# sample or --to is a usage error; an unreachable target is exit 1 with one line; a target
# answering >= 400 is exit 1 with its body still printed; --json prints one object with
# the answer.
source "$(dirname "$0")/lib.sh"
need python3

rc=0
"$RAG" trigger github.psuh --to 3000 >"$T/out" 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "unknown sample exit code"
expect_eq "$(cat "$T/err")" "rag: error: unknown sample 'github.psuh' (did you mean 'github.push'?)" \
  "unknown sample message"

rc=0
"$RAG" trigger --to 3000 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "missing sample exit code"
expect_contains "$(cat "$T/err")" "a sample name is required" "missing sample message"
rc=0
"$RAG" trigger github.push 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "missing --to exit code"
expect_contains "$(cat "$T/err")" "--to is required" "missing --to message"
rc=0
"$RAG" trigger github.push --to 'ftp://x' 2>"$T/err" || rc=$?
expect_eq "$rc" 2 "bad --to exit code"

# A port nobody listens on: bind one, note it, close it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
rc=0
"$RAG" trigger github.ping --to "$port" >"$T/out" 2>"$T/err" || rc=$?
expect_eq "$rc" 1 "unreachable exit code"
expect_eq "$(grep -c '^rag: error:' "$T/err")" 1 "one error line"
expect_contains "$(cat "$T/err")" \
  "rag: error: cannot send github.ping to http://127.0.0.1:$port/: connection refused" "message"
[ ! -s "$T/out" ] || fail "stdout not empty: $(cat "$T/out")"

start_peer F sink --status 401 --body '{"error":"bad signature"}'
rc=0
"$RAG" trigger slack.event_callback --to "$F_URL/slack" >"$T/out" 2>"$T/err" || rc=$?
expect_eq "$rc" 1 "401 exit code"
expect_eq "$(cat "$T/out")" '{"error":"bad signature"}' "the answer's body is printed"
expect_contains "$(cat "$T/err")" "slack.event_callback → 401" "status line"

start_peer S sink --body 'ok' --header 'X-Reply: 1'
"$RAG" trigger standard.example --to "$S_URL" --json >"$T/out" 2>"$T/err"
python3 - "$T/out" "$S_URL" <<'PY' || fail "--json output"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
r = json.loads(lines[0])
assert r["sample"] == "standard.example", r
assert r["url"] == sys.argv[2] + "/", r["url"]
assert r["status"] == 200 and r["body"] == "ok", r
assert ["X-Reply", "1"] in r["headers"], r["headers"]
assert isinstance(r["duration_us"], int), r
names = [n for n, v in r["request_headers"]]
assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(names), names
PY
