#!/usr/bin/env bash
# `rag export` (JSON Lines, the default) writes the selected event lines and their
# delivery lines byte for byte as they are in the log, in log order; --last and the
# inspect filters select; -o refuses to overwrite the log itself.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer P sink
start_listen L -f "$P_URL"
python3 -c 'import sys; sys.stdout.buffer.write(b"\x00\xff\xfe" * 10)' >"$T/body.bin"
curl -sS -o /dev/null -d '{"n":1}' -H 'Content-Type: application/json' "$L_URL/a"
curl -sS -o /dev/null --data-binary "@$T/body.bin" "$L_URL/b"
curl -sS -o /dev/null -X PUT -d 'three' "$L_URL/a/c"
curl -sS -o /dev/null "$L_URL/get"
wait_for 10 '[ "$(log_deliveries)" -eq 4 ]' || fail "expected 4 deliveries"
stop_listen L

"$RAG" export >"$T/all.jsonl" || fail "export failed"
cmp "$T/all.jsonl" "$RAG_LOG" || fail "a full export differs from the log"

"$RAG" export --format jsonl --method POST -o "$T/post.jsonl" 2>/dev/null
expect_eq "$(grep -c '"kind":"event"' "$T/post.jsonl")" 2 "POST events"
expect_eq "$(grep -c '"kind":"delivery"' "$T/post.jsonl")" 2 "their deliveries"
# Every exported line is a line of the log, in the same order.
python3 - "$T/post.jsonl" "$RAG_LOG" <<'PY' || fail "exported lines are not the log's lines in order"
import sys
got = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
log = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
positions = [log.index(line) for line in got]
sys.exit(0 if positions == sorted(positions) else 1)
PY

"$RAG" export --last 1 >"$T/last.jsonl"
expect_eq "$(wc -l <"$T/last.jsonl" | tr -d ' ')" 2 "--last 1: one event and its delivery"
expect_contains "$(head -n 1 "$T/last.jsonl")" '"target":"/get"' "--last 1 is the newest"
"$RAG" export --path '/a/*' >"$T/glob.jsonl"
expect_contains "$(head -n 1 "$T/glob.jsonl")" '"target":"/a/c"' "--path glob"

rc=0
"$RAG" export -o "$RAG_LOG" 2>"$T/self.err" || rc=$?
expect_eq "$rc" 2 "exporting over the log is a usage error"
cmp -s "$T/all.jsonl" "$RAG_LOG" || fail "the log was changed"
rc=0
"$RAG" export --format xml 2>/dev/null || rc=$?
expect_eq "$rc" 2 "unknown format"
