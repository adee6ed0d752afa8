#!/usr/bin/env bash
# A chunked body is stored de-chunked and marked chunked; a gzip body stays
# compressed, exactly as it came on the wire, with its Content-Encoding header.
source "$(dirname "$0")/lib.sh"
need curl python3 gzip sha256sum

start_listen L

printf '{"event":"push","n":%s}\n' {1..200} >"$T/plain.json"
gzip -c -9 "$T/plain.json" >"$T/body.gz"
id=$(curl -sS -o /dev/null -D - --data-binary "@$T/body.gz" -H 'Content-Encoding: gzip' \
  -H 'Content-Type: application/json' "$L_URL/gz" | tr -d '\r' | sed -n 's/^Rag-Event-Id: //p')
expect_eq "$("$RAG" inspect "$id" --body | sha256sum | cut -d' ' -f1)" \
  "$(sha256sum <"$T/body.gz" | cut -d' ' -f1)" "gzip body kept compressed"
expect_contains "$("$RAG" inspect "$id" --headers)" "Content-Encoding: gzip" "Content-Encoding kept"

# Chunked: three chunks with an extension and a trailer, sent raw.
printf 'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n' >"$T/chunked.req"
answer=$(raw_http "$L_PORT" "$T/chunked.req")
expect_contains "$answer" "HTTP/1.1 200" "chunked request answered"
json=$("$RAG" inspect --json --path /chunked)
expect_contains "$json" '"body":"hello world"' "chunked body de-chunked"
expect_contains "$json" '"chunked":true' "record says the body was chunked"
expect_contains "$("$RAG" inspect --headers --path /chunked)" "Transfer-Encoding: chunked" \
  "Transfer-Encoding header kept"

# curl's own chunked upload
id=$(curl -sS -o /dev/null -D - -H 'Transfer-Encoding: chunked' --data-binary "@$T/plain.json" \
  "$L_URL/chunked2" | tr -d '\r' | sed -n 's/^Rag-Event-Id: //p')
expect_eq "$("$RAG" inspect "$id" --body | sha256sum | cut -d' ' -f1)" \
  "$(sha256sum <"$T/plain.json" | cut -d' ' -f1)" "curl chunked upload body"
stop_listen L
