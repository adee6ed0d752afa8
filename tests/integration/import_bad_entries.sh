#!/usr/bin/env bash
# `rag import` imports what it can: a bad HAR entry or a bad JSON Lines line is
# skipped with a warning naming it and the rest is imported (exit 0); a file where
# nothing can be imported, a damaged HAR or a missing file is exit 1.
source "$(dirname "$0")/lib.sh"
need python3

cat >"$T/one-bad.har" <<'HAR'
{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [
  {"startedDateTime": "2024-03-01T10:00:00.000Z",
   "request": {"method": "POST", "url": "http://h/one", "httpVersion": "HTTP/1.1",
               "headers": [{"name": "Host", "value": "h"}], "postData": {"mimeType": "text/plain", "text": "one"}}},
  {"startedDateTime": "2024-03-01T10:00:01.000Z",
   "request": {"method": "POST", "httpVersion": "HTTP/1.1", "headers": []}},
  {"startedDateTime": "2024-03-01T10:00:02.000Z",
   "request": {"method": "PUT", "url": "http://h/three", "httpVersion": "HTTP/1.1", "headers": []}}
]}}
HAR
rc=0
"$RAG" import "$T/one-bad.har" 2>"$T/har.err" || rc=$?
expect_eq "$rc" 0 "exit code with one bad HAR entry"
expect_contains "$(cat "$T/har.err")" "entry 2: request.url is missing" "warning names the entry"
expect_contains "$(cat "$T/har.err")" "imported 2 events from $T/one-bad.har (HAR, 1 skipped)" "summary"
expect_eq "$(log_events)" 2 "the good entries were imported"

# JSON Lines: a corrupt line and a delivery whose event is not in the file.
"$RAG" export >"$T/good.jsonl"
{
  sed -n 1p "$T/good.jsonl"
  echo '{"v":1,"kind":"event","id":"broken'
  sed -n 2p "$T/good.jsonl"
  echo '{"v":1,"kind":"delivery","id":"dlv_X","event_id":"evt_nowhere","time":"2024-03-01T10:00:00Z","target":"http://t/","attempt":1,"replay":false,"status":0,"duration_ms":1.0,"error":"x"}'
} >"$T/one-bad.jsonl"
rc=0
"$RAG" import --log "$T/second.jsonl" "$T/one-bad.jsonl" 2>"$T/jsonl.err" || rc=$?
expect_eq "$rc" 0 "exit code with bad JSON Lines"
expect_contains "$(cat "$T/jsonl.err")" "line 2: not valid JSON; skipped" "warning names the line"
expect_contains "$(cat "$T/jsonl.err")" "line 4: delivery dlv_X is for event evt_nowhere" \
  "orphan delivery warning"
expect_contains "$(cat "$T/jsonl.err")" "imported 2 events from $T/one-bad.jsonl (JSON Lines, 2 skipped)" "summary"
expect_eq "$(grep -c '"kind":"event"' "$T/second.jsonl")" 2 "good lines imported"

# Nothing importable: exit 1, and the log is not touched.
printf 'hello\nworld\n' >"$T/text.txt"
before=$(cat "$RAG_LOG")
rc=0
"$RAG" import "$T/text.txt" 2>"$T/text.err" || rc=$?
expect_eq "$rc" 1 "exit code when nothing could be imported"
expect_contains "$(cat "$T/text.err")" "rag: error: nothing imported from $T/text.txt (2 skipped)" "error"
expect_eq "$(cat "$RAG_LOG")" "$before" "log unchanged"

head -c 200 "$T/one-bad.har" >"$T/cut.har"
rc=0
"$RAG" import "$T/cut.har" 2>"$T/cut.err" || rc=$?
expect_eq "$rc" 1 "exit code for a damaged HAR"
expect_contains "$(cat "$T/cut.err")" "$T/cut.har: not valid JSON" "damaged HAR reported as such"

rc=0
"$RAG" import "$T/missing.har" 2>"$T/missing.err" || rc=$?
expect_eq "$rc" 1 "exit code for a missing file"
expect_contains "$(cat "$T/missing.err")" "cannot open $T/missing.har" "missing file"

rc=0
"$RAG" import 2>/dev/null || rc=$?
expect_eq "$rc" 2 "FILE is required"
expect_eq "$(log_events)" 2 "log unchanged by failed imports"

# A file of the wrong kind warns about a few lines and counts the rest, in one more line.
seq 1 20 | sed 's/^/not json /' >"$T/twenty.txt"
rc=0
"$RAG" import "$T/twenty.txt" 2>"$T/twenty.err" || rc=$?
expect_eq "$rc" 1 "exit code when no line of 20 is a record"
expect_eq "$(grep -c 'rag: warning:' "$T/twenty.err")" 4 "warnings for 20 bad lines"
expect_contains "$(cat "$T/twenty.err")" "17 more skipped, 20 in all" "count of the rest"
expect_contains "$(cat "$T/twenty.err")" "nothing imported from $T/twenty.txt (20 skipped)" "error"

# A HAR without entries, or an empty file, imports nothing: exit 1, log untouched.
before=$(cat "$RAG_LOG")
printf '{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}' \
  >"$T/empty.har"
: >"$T/empty.jsonl"
for empty in "$T/empty.har" "$T/empty.jsonl"; do
  rc=0
  "$RAG" import "$empty" 2>"$T/empty.err" || rc=$?
  expect_eq "$rc" 1 "exit code for $empty"
  expect_contains "$(cat "$T/empty.err")" "rag: error: nothing imported from $empty: it holds no" \
    "error for $empty"
  expect_eq "$(wc -l <"$T/empty.err")" 1 "one line for $empty"
done
expect_eq "$(cat "$RAG_LOG")" "$before" "log unchanged by empty imports"
