#!/usr/bin/env bash
# Binary bodies (NUL bytes, invalid UTF-8), an empty body and a 5 MiB body are
# captured byte for byte: `rag inspect ID --body` gives back exactly what was sent.
source "$(dirname "$0")/lib.sh"
need curl python3 sha256sum

start_listen L

python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) + b"\x00\xff\xfe\xc3(" * 50)' >"$T/binary.bin"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
: >"$T/empty.bin"

for name in binary big empty; do
  id=$(curl -sS -o /dev/null -D - --data-binary "@$T/$name.bin" \
    -H 'Content-Type: application/octet-stream' "$L_URL/upload/$name" |
    tr -d '\r' | sed -n 's/^Rag-Event-Id: //p')
  [ -n "$id" ] || fail "$name: no Rag-Event-Id header in the answer"
  sent=$(sha256sum <"$T/$name.bin" | cut -d' ' -f1)
  got=$("$RAG" inspect "$id" --body | sha256sum | cut -d' ' -f1)
  expect_eq "$got" "$sent" "$name body bytes through rag inspect --body"
  json=$("$RAG" inspect "$id" --json | head -n 1)
  expect_contains "$json" "\"body_sha256\":\"$sent\"" "$name body_sha256 in the record"
  expect_contains "$json" "\"body_size\":$(stat -c %s "$T/$name.bin")" "$name body_size"
done

json=$("$RAG" inspect --json --path '/upload/binary')
expect_contains "$json" '"body_encoding":"base64"' "a binary body is stored as base64"
expect_eq "$(log_events)" 3 "events in the log"
stop_listen L
