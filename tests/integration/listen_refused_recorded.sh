#!/usr/bin/env bash
# A request the listener refuses (413 body too large, 431 head too large, 400 bad
# chunked framing, 501 unknown transfer coding, 400 for bytes that are no request at
# all) is logged as an event with what was read of it and a `rejected` object saying
# what its sender was answered. `rag inspect` shows the answer in STATUS and in the
# detail view, `--status` selects on it, HAR gives it as the response, replay skips
# such events with a warning naming each, and the log stays valid.
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer A sink
start_listen L --max-body 1KiB

# No request line at all: still a record, with the remote address and the answer.
printf '\x16\x03\x01 not http\r\n\r\n' >"$T/garbage.req"
expect_contains "$(raw_http "$L_PORT" "$T/garbage.req")" "HTTP/1.1 400" "garbage: answer"

head -c 2048 /dev/zero >"$T/2k.bin"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Kept: yes' --data-binary "@$T/2k.bin" \
  "$L_URL/big?q=1")
expect_eq "$code" 413 "over-size body"
python3 -c 'print("X-Big: " + "a" * 70000)' >"$T/bighdr"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "@$T/bighdr" "$L_URL/head" || true)
expect_eq "$code" 431 "over-size head"
printf 'POST /chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n' \
  >"$T/bad_chunk.req"
expect_contains "$(raw_http "$L_PORT" "$T/bad_chunk.req")" "HTTP/1.1 400" "bad chunked body"
printf 'POST /gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
  >"$T/gzip.req"
expect_contains "$(raw_http "$L_PORT" "$T/gzip.req")" "HTTP/1.1 501" "gzip, chunked"
expect_eq "$(log_events)" 5 "every refused request is in the log"

# The records: what was read of each, no body, and what the sender was answered.
"$RAG" inspect --json >"$T/records.jsonl"
python3 - "$T/records.jsonl" <<'PY' || fail "refused records: $(cat "$T/records.jsonl")"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
got = [(r["method"], r["target"], r["rejected"]["status"], r["rejected"]["reason"]) for r in records]
want = [
    ("", "", 400, "invalid method"),
    ("POST", "/big?q=1", 413, "request body too large"),
    ("GET", "/head", 431, "request header fields too large"),
    ("POST", "/chunks", 400, "invalid chunk size"),
    ("POST", "/gzip", 501, "unsupported transfer-encoding"),
]
assert got == want, got
for r in records:
    assert r["body"] == "" and r["body_size"] == 0, r
    assert r["remote"].startswith("127.0.0.1:"), r
big = records[1]
assert ["X-Kept", "yes"] in big["headers"] and ["Content-Length", "2048"] in big["headers"], big
assert big["rejected"]["body_dropped"] == 0, big
# The head over the limit: its request line and the headers before the long one only.
assert all(name != "X-Big" for name, *_ in records[2]["headers"]), records[2]
assert records[3]["chunked"] is True and records[3]["rejected"]["body_dropped"] == 5, records[3]
assert records[0]["headers"] == [] and records[0]["http_version"] == "", records[0]
PY
# Bounded: the record of the 70 KB head is far below the 64 KiB head limit.
longest=$(awk '{ if (length($0) > n) n = length($0) } END { print n }' "$RAG_LOG")
[ "$longest" -lt 65536 ] || fail "a refused record is $longest bytes, over the head limit"

table=$("$RAG" inspect)
for status in "413 refused" "431 refused" "400 refused" "501 refused"; do
  expect_contains "$table" "$status" "STATUS column"
done
big_id=$(json_field "$T/records.jsonl" 2 'r["id"]')
detail=$("$RAG" inspect "$big_id")
expect_contains "$detail" "refused  413 request body too large" "detail view"
expect_contains "$detail" "X-Kept: yes" "detail view: the headers read"
expect_eq "$("$RAG" inspect --status 413 --json | python3 -c 'import json, sys
print(",".join(json.loads(l)["id"] for l in sys.stdin))')" "$big_id" "--status 413"
expect_eq "$("$RAG" inspect --status 4xx --json | grep -c '"kind":"event"')" 4 "--status 4xx"
expect_eq "$("$RAG" inspect --status 5xx --json | grep -c '"kind":"event"')" 1 "--status 5xx"

"$RAG" export --format har -o "$T/refused.har"
expect_eq "$(python3 -c 'import json, sys
print(" ".join(str(e["response"]["status"]) for e in json.load(open(sys.argv[1]))["log"]["entries"]))' \
  "$T/refused.har")" "400 413 431 400 501" "HAR responses are what rag answered"

# Replay: nothing of them can be sent; each is named, nothing reaches the target.
rc=0
"$RAG" replay --last 4 --to "$A_URL" >"$T/replay.out" 2>"$T/replay.err" || rc=$?
expect_eq "$rc" 1 "replay exit code when events were skipped"
expect_eq "$(peer_count A)" 0 "nothing was replayed"
for line in 2 3 4 5; do
  id=$(json_field "$T/records.jsonl" "$line" 'r["id"]')
  expect_contains "$(cat "$T/replay.err")" "rag: warning: $id skipped: rag refused it with" \
    "replay names refused event $line"
done
expect_contains "$(cat "$T/replay.err")" "4 events skipped" "replay summary"

"$RAG" log verify >"$T/verify.out" 2>"$T/verify.err" || fail "rag log verify: $(cat "$T/verify.out")"
expect_contains "$(cat "$T/verify.err")" "no bad lines" "the log is valid"
expect_contains "$("$RAG" log stats)" "5 (5 refused)" "log stats counts them"
stop_listen L
