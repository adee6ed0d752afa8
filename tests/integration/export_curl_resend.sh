#!/usr/bin/env bash
# `rag export --format curl -o FILE` writes a bash script that re-sends every selected
# request; binary and big bodies go to FILE.d/ID.bin beside it and are read relative
# to the script, so the script still works when its directory is moved. Run against a
# second listener, it re-creates identical bodies, methods and targets. On stdout the
# binary bodies are piped from printf instead.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3 sha256sum

start_listen L1 --log "$T/l1.jsonl"
start_listen L2
host="Host: 127.0.0.1:$L2_PORT"

python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) + b"%s\\\x27\x00\xff" * 20)' >"$T/body.bin"
python3 -c 'print("big text " * 20000)' >"$T/big.txt"
curl -sS -g -o /dev/null -H "$host" -H 'Content-Type: application/json' \
  --data-binary $'{"it\'s":"$(id) `id`","n":1}\n' "$L1_URL/json?x=[1]&y=%20"
curl -sS -o /dev/null -H "$host" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$T/body.bin" "$L1_URL/binary"
curl -sS -o /dev/null -H "$host" -X POST -H 'Content-Length: 0' "$L1_URL/empty"
curl -sS -o /dev/null -H "$host" -H 'Content-Type: text/plain' --data-binary "@$T/big.txt" \
  "$L1_URL/big"
curl -sS -o /dev/null -H "$host" "$L1_URL/get?q=1"

# method target sha256, one line per event, in log order
requests() {
  python3 - "$1" <<'PY'
import base64, hashlib, json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r["kind"] != "event":
        continue
    body = base64.b64decode(r["body"]) if r.get("body_encoding") else r["body"].encode()
    print(r["method"], r["target"], hashlib.sha256(body).hexdigest())
PY
}
expect_eq "$(requests "$T/l1.jsonl" | wc -l | tr -d ' ')" 5 "captured on L1"

mkdir "$T/out"
"$RAG" export --format curl --log "$T/l1.jsonl" -o "$T/out/resend.sh" 2>"$T/export.err" ||
  fail "export failed: $(cat "$T/export.err")"
expect_contains "$(cat "$T/export.err")" "(2 bodies in $T/out/resend.sh.d/)" "summary"
[ -x "$T/out/resend.sh" ] || fail "the script is not executable"
expect_eq "$(head -n 1 "$T/out/resend.sh")" '#!/usr/bin/env bash' "shebang"
expect_contains "$(cat "$T/out/resend.sh")" 'set -euo pipefail' "strict mode"
expect_contains "$(cat "$T/out/resend.sh")" '--data-binary @"$dir"/' "bodies read from files"
expect_not_contains "$(cat "$T/out/resend.sh")" 'printf' "no printf with body files"
expect_eq "$(find "$T/out/resend.sh.d" -name 'evt_*.bin' | wc -l | tr -d ' ')" 2 "body files"
binary_id=$("$RAG" inspect --log "$T/l1.jsonl" --path /binary --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cmp "$T/out/resend.sh.d/$binary_id.bin" "$T/body.bin" || fail "binary body file differs"

mv "$T/out" "$T/moved"
(cd / && bash "$T/moved/resend.sh" >/dev/null) || fail "the script failed"
wait_for 5 '[ "$(log_events)" -eq 5 ]' || fail "L2 captured $(log_events) events, want 5"
expect_eq "$(requests "$RAG_LOG")" "$(requests "$T/l1.jsonl")" "re-sent requests (script file)"

# To stdout: binary bodies are piped from printf; the result is the same.
"$RAG" export --format curl --log "$T/l1.jsonl" --path '/binary' >"$T/stdout.sh"
expect_contains "$(cat "$T/stdout.sh")" '--data-binary @-' "stdout script pipes binary bodies"
bash "$T/stdout.sh" >/dev/null || fail "the stdout script failed"
wait_for 5 '[ "$(log_events)" -eq 6 ]' || fail "L2 captured $(log_events) events, want 6"
expect_eq "$(requests "$RAG_LOG" | tail -n 1)" "$(requests "$T/l1.jsonl" | sed -n 2p)" \
  "re-sent binary request (stdout script)"
stop_listen L1
stop_listen L2
