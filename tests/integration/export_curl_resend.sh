#!/usr/bin/env bash
# `rag export --format curl -o FILE` writes a bash script that re-sends every selected
# request; binary and big bodies go to FILE.d/ID.bin beside it and are read relative
# to the script, so the script still works when its directory is moved. Run, it sends
# them back to the listener that captured them (whatever Host their sender gave), which
# captures identical bodies, methods and targets again. On stdout the binary bodies are
# piped from printf instead.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3 sha256sum

start_listen L1
host="Host: 169.254.169.254"

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

# requests [FIRST [COUNT]]: method target sha256 of the events of the log from the
# FIRST (1-based, default 1), COUNT of them (default all), one line each, in log order.
requests() {
  python3 - "$RAG_LOG" "${1:-1}" "${2:-0}" <<'PY'
import base64, hashlib, json, sys
events = []
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r["kind"] != "event":
        continue
    body = base64.b64decode(r["body"]) if r.get("body_encoding") else r["body"].encode()
    events.append(f'{r["method"]} {r["target"]} {hashlib.sha256(body).hexdigest()}')
first, count = int(sys.argv[2]) - 1, int(sys.argv[3])
print("\n".join(events[first:first + count] if count else events[first:]))
PY
}
expect_eq "$(requests | wc -l | tr -d ' ')" 5 "captured on L1"
original=$(requests)

mkdir "$T/out"
"$RAG" export --format curl -o "$T/out/resend.sh" 2>"$T/export.err" ||
  fail "export failed: $(cat "$T/export.err")"
expect_contains "$(cat "$T/export.err")" "(2 bodies in $T/out/resend.sh.d/)" "summary"
[ -x "$T/out/resend.sh" ] || fail "the script is not executable"
expect_eq "$(head -n 1 "$T/out/resend.sh")" '#!/usr/bin/env bash' "shebang"
expect_contains "$(cat "$T/out/resend.sh")" 'set -euo pipefail' "strict mode"
expect_contains "$(cat "$T/out/resend.sh")" '--data-binary @"$dir"/' "bodies read from files"
expect_not_contains "$(cat "$T/out/resend.sh")" 'printf' "no printf with body files"
expect_eq "$(grep -c "^curl .* 'http://127.0.0.1:$L1_PORT/" "$T/out/resend.sh")" 5 "curl aims at L1"
expect_not_contains "$(cat "$T/out/resend.sh")" "'http://169.254" "no URL with the sender's Host"
expect_eq "$(find "$T/out/resend.sh.d" -name 'evt_*.bin' | wc -l | tr -d ' ')" 2 "body files"
binary_id=$("$RAG" inspect --path /binary --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cmp "$T/out/resend.sh.d/$binary_id.bin" "$T/body.bin" || fail "binary body file differs"

mv "$T/out" "$T/moved"
(cd / && bash "$T/moved/resend.sh" >/dev/null) || fail "the script failed"
wait_for 5 '[ "$(log_events)" -eq 10 ]' || fail "L1 captured $(log_events) events, want 10"
expect_eq "$(requests 6)" "$original" "re-sent requests (script file)"

# To stdout: binary bodies are piped from printf; the result is the same.
"$RAG" export --format curl --path '/binary' --last 1 >"$T/stdout.sh"
expect_contains "$(cat "$T/stdout.sh")" '--data-binary @-' "stdout script pipes binary bodies"
bash "$T/stdout.sh" >/dev/null || fail "the stdout script failed"
wait_for 5 '[ "$(log_events)" -eq 11 ]' || fail "L1 captured $(log_events) events, want 11"
expect_eq "$(requests 11)" "$(requests 2 1)" "re-sent binary request (stdout script)"
stop_listen L1
