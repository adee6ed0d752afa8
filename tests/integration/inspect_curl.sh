#!/usr/bin/env bash
# `rag inspect --curl` prints a command that re-sends the exact request to the listener
# that captured it: running it captures the same request line, headers (Host included)
# and body bytes there again. The sender's Host (here the cloud metadata address) only
# travels as a header: it never decides where curl connects. An imported event has no
# capture address: its command names a placeholder port that curl refuses.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L1
hostile="169.254.169.254"

# field ID NAME: one field of an event's --json record.
field() {
  "$RAG" inspect "$1" --json | head -n 1 | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# newest_id: the id of the newest event.
newest_id() {
  "$RAG" inspect --json --last 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# comparable_head ID: --headers without the lines curl writes itself.
comparable_head() {
  "$RAG" inspect "$1" --headers | grep -viE '^(content-length|connection|expect):'
}

# resend SHELL: run the --curl command of the newest event with SHELL; return the new event id.
resend() {
  local before after
  before=$(newest_id)
  "$RAG" inspect --curl >"$T/command.sh"
  expect_contains "$(head -n 1 "$T/command.sh")" "'http://127.0.0.1:$L1_PORT/" "curl aims at L1"
  expect_not_contains "$(cat "$T/command.sh")" "http://$hostile" "no URL with the sender's Host"
  "$1" "$T/command.sh" >"$T/resend.out" 2>"$T/resend.err" || fail "$1 command.sh failed: $(cat "$T/resend.err")"
  after=$(newest_id)
  [ "$after" != "$before" ] || fail "the curl command captured nothing"
  expect_eq "$(field "$after" source)" "listen:127.0.0.1:$L1_PORT" "the re-sent request went to L1"
  printf '%s' "$after"
}

# A text request with quotes, substitutions, globs, an empty and duplicate headers,
# and neither User-Agent nor Accept (curl must not add its own).
body=$'it\'s the body: $(id) `id` $HOME "dq" \\n\nsecond \'line\'\n'
{
  printf "PATCH /hook/a%%2Fb?x=[1]&y={2}&q=it's&e=%%20 HTTP/1.1\r\n"
  printf 'Host: %s\r\n' "$hostile"
  printf 'Authorization: Bearer s3cret\r\n'
  # shellcheck disable=SC2016 # the $(id) and `id` must stay literal
  printf 'X-Quote: it'"'"'s "quoted" $(id) `id`\r\n'
  printf 'X-Empty:\r\n'
  printf 'X-Dup: a\r\n'
  printf 'x-dup: b\r\n'
  printf 'Content-Type: text/plain\r\n'
  printf 'Content-Length: %s\r\n' "${#body}"
  printf 'Connection: close\r\n\r\n'
  printf '%s' "$body"
} >"$T/req1"
expect_contains "$(raw_http "$L1_PORT" "$T/req1")" "HTTP/1.1 200" "capture on L1"
original=$(newest_id)
for shell in bash sh; do
  copy=$(resend "$shell")
  expect_eq "$("$RAG" inspect "$copy" --body | sha256sum)" \
    "$("$RAG" inspect "$original" --body | sha256sum)" "body bytes ($shell)"
  expect_eq "$(comparable_head "$copy")" "$(comparable_head "$original")" "request head ($shell)"
done

# A binary body (NUL, 0xff, quotes, '%', '\') goes through printf.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) + b"%s\\0\x27\x00" * 3)' >"$T/body.bin"
curl -sS -o /dev/null -X POST "$L1_URL/bin" -H "Host: $hostile" \
  -H 'Content-Type: application/octet-stream' -H 'User-Agent: Stripe/1.0' --data-binary @"$T/body.bin"
original=$(newest_id)
expect_contains "$("$RAG" inspect --curl)" "--data-binary @-" "binary bodies are piped"
for shell in bash sh; do
  copy=$(resend "$shell")
  expect_eq "$("$RAG" inspect "$copy" --body | sha256sum)" "$(sha256sum <"$T/body.bin")" \
    "binary body bytes ($shell)"
  expect_eq "$(comparable_head "$copy")" "$(comparable_head "$original")" \
    "binary request head ($shell)"
done

# A 2 MiB text body: no "Expect: 100-continue" and no argument-size limit.
python3 -c 'print("x" * (2 * 1024 * 1024))' >"$T/big.txt"
curl -sS -o /dev/null -X POST "$L1_URL/big" -H "Host: $hostile" \
  -H 'Content-Type: text/plain' --data-binary @"$T/big.txt"
original=$(newest_id)
copy=$(resend bash)
expect_eq "$("$RAG" inspect "$copy" --body | sha256sum)" "$(sha256sum <"$T/big.txt")" "big body"
expect_eq "$(comparable_head "$copy")" "$(comparable_head "$original")" "big request head"
expect_not_contains "$("$RAG" inspect "$copy" --headers)" "Expect:" "no Expect header"

# An imported event was captured elsewhere: curl refuses the placeholder URL, sending
# nothing anywhere, until the user puts in where it should go.
"$RAG" export --last 1 >"$T/one.jsonl"
"$RAG" import --log "$T/imported.jsonl" "$T/one.jsonl" 2>"$T/import.err" || fail "import failed"
"$RAG" inspect --log "$T/imported.jsonl" --curl >"$T/imported.sh"
expect_contains "$(head -n 1 "$T/imported.sh")" "'http://localhost:PORT/big'" "placeholder URL"
expect_not_contains "$(cat "$T/imported.sh")" "Host:" "no captured Host for the placeholder"
rc=0
bash "$T/imported.sh" >/dev/null 2>"$T/placeholder.err" || rc=$?
expect_eq "$rc" 3 "curl's exit code for the placeholder URL (malformed)"
sed -i "s|http://localhost:PORT|$L1_URL|" "$T/imported.sh"
before=$(newest_id)
bash "$T/imported.sh" >/dev/null 2>"$T/edited.err" || fail "the edited command failed"
[ "$(newest_id)" != "$before" ] || fail "the edited command captured nothing"
expect_eq "$("$RAG" inspect --body | sha256sum)" "$(sha256sum <"$T/big.txt")" "edited: big body"

stop_listen L1
