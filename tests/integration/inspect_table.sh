#!/usr/bin/env bash
# `rag inspect` lists the newest 20 events (newest last), honours --last, prints
# JSON Lines with --json, reads from the end of the log, neutralises terminal
# escapes in captured data, and ends quietly when its reader goes away.
source "$(dirname "$0")/lib.sh"
need curl python3

# An empty or missing log: nothing on stdout, a hint on stderr, exit 0.
out=$("$RAG" inspect 2>"$T/empty.err")
expect_eq "$out" "" "stdout for a missing log"
expect_contains "$(cat "$T/empty.err")" "no events in $RAG_LOG yet" "hint for a missing log"

start_listen L
for i in $(seq 1 25); do
  curl -sS -o /dev/null -X POST "$L_URL/hook/$i?n=$i" -H 'Content-Type: application/json' \
    --data-binary "{\"n\":$i,\"pad\":\"$(printf '%04096d' 0)\"}"
done
stop_listen L

table=$("$RAG" inspect)
expect_eq "$(printf '%s\n' "$table" | wc -l)" 21 "header plus 20 rows"
header=$(printf '%s\n' "$table" | head -n 1)
for column in TIME ID METHOD PATH SIZE STATUS SIG; do
  expect_contains "$header" "$column" "table header"
done
expect_contains "$(printf '%s\n' "$table" | sed -n 2p)" "/hook/6?n=6" "oldest shown row"
expect_contains "$(printf '%s\n' "$table" | tail -n 1)" "/hook/25?n=25" "newest row is last"
expect_contains "$(printf '%s\n' "$table" | tail -n 1)" "POST" "method column"
expect_contains "$(printf '%s\n' "$table" | tail -n 1)" "4.0 KiB" "size column"
expect_not_contains "$table" $'\e' "no colour with NO_COLOR / without a TTY"

last3=$("$RAG" inspect --last 3)
expect_eq "$(printf '%s\n' "$last3" | wc -l)" 4 "--last 3 rows"
expect_contains "$(printf '%s\n' "$last3" | sed -n 2p)" "/hook/23?n=23" "--last 3 starts at 23"

json=$("$RAG" inspect --json)
expect_eq "$(printf '%s\n' "$json" | wc -l)" 20 "--json lines"
expect_eq "$(printf '%s\n' "$json" | python3 -c '
import json, sys
print(" ".join(json.loads(l)["target"].split("?")[1] for l in sys.stdin))')" \
  "$(seq -f 'n=%g' 6 25 | tr '\n' ' ' | sed 's/ $//')" "--json is oldest first"
expect_eq "$("$RAG" inspect --json --since 1h | wc -l)" 25 "--since without --last shows all"
expect_eq "$("$RAG" inspect --json --since 1h --last 2 | wc -l)" 2 "--since with --last"

# The newest events are read from the end: a damaged first line is never reached...
{ printf '{"v":1,"kind":"event","id":"evt_broken\n'; cat "$RAG_LOG"; } >"$T/log2"
RAG_LOG="$T/log2" "$RAG" inspect --last 5 >/dev/null 2>"$T/tail.err"
expect_eq "$(cat "$T/tail.err")" "" "warnings when reading only the newest events"
# ...while a full scan reports it with its line number.
RAG_LOG="$T/log2" "$RAG" inspect --since 1d >/dev/null 2>"$T/full.err"
expect_contains "$(cat "$T/full.err")" "rag: warning: $T/log2:1: skipped corrupt line" "warning"

# Captured bytes cannot drive the terminal, in the table or the detail view.
python3 - "$RAG_LOG" <<'PY'
import hashlib, json, sys, datetime
body = "\x1b]0;pwned\x07 \x1b[2J body"
rec = {"v": 1, "kind": "event", "id": "evt_0ZZZZZZZZZZZZZZZZZZZZZZZZZ",
       "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
       "source": "listen:127.0.0.1:1", "remote": "127.0.0.1:2", "method": "POST",
       "target": "/x\x1b[31m\u202eevil", "http_version": "HTTP/1.1",
       "headers": [["X-Evil", "a\x1b[5mb"]], "body": body,
       "body_size": len(body.encode()), "body_sha256": hashlib.sha256(body.encode()).hexdigest()}
open(sys.argv[1], "a").write(json.dumps(rec, separators=(",", ":")) + "\n")
PY
row=$("$RAG" inspect --last 1)
expect_not_contains "$row" $'\e' "escape byte in the table"
expect_contains "$row" '/x\x1b[31m\u202eevil' "escaped target"
detail=$("$RAG" inspect 0zzzz)
expect_not_contains "$detail" $'\e' "escape byte in the detail view"
expect_not_contains "$detail" $'\a' "bell byte in the detail view"
expect_contains "$detail" 'X-Evil: a\x1b[5mb' "escaped header value"
# --body is the exception: it is the raw bytes, for pipes.
expect_eq "$("$RAG" inspect 0zzzz --body)" "$(printf '\033]0;pwned\a \033[2J body')" \
  "--body keeps the bytes"

# A reader that goes away (EPIPE) ends rag quietly with 0.
rc=0
"$RAG" inspect --json --since 1d 2>"$T/pipe.err" | head -c 10 >/dev/null || rc=$?
expect_eq "${PIPESTATUS[0]}:$rc" "0:0" "exit code when the reader goes away"
expect_eq "$(cat "$T/pipe.err")" "" "stderr when the reader goes away"
