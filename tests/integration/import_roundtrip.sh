#!/usr/bin/env bash
# Export then import keeps every request byte-exact: binary bodies (NUL, 0xFF),
# empty, UTF-8 with NUL, chunked, with duplicate and empty headers in order. Through
# HAR the events come back; through JSON Lines the deliveries come along too, linked
# to the new event ids.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_peer P echo
start_listen L -f "$P_URL"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 3 + b"\x00\xff")' >"$T/binary.bin"
python3 -c 'import sys; sys.stdout.buffer.write("café ☕ \x00 nul\r\n".encode())' >"$T/utf8.txt"
hdrs=(-H 'X-Dup: a' -H 'x-dup: b' -H 'X-Empty;' -H 'X-CaSe: v')
curl -sS -o /dev/null "${hdrs[@]}" -H 'Content-Type: application/octet-stream' \
  --data-binary "@$T/binary.bin" "$L_URL/binary?a=1&b=%20"
curl -sS -o /dev/null "${hdrs[@]}" -X POST -H 'Content-Length: 0' "$L_URL/empty"
curl -sS -o /dev/null "${hdrs[@]}" -H 'Content-Type: text/plain; charset=utf-8' \
  --data-binary "@$T/utf8.txt" "$L_URL/utf8"
curl -sS -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary '{"chunked":true}' \
  "$L_URL/chunked"
curl -sS -o /dev/null "$L_URL/get/a%2Fb?q=x+y"
wait_for 10 '[ "$(log_deliveries)" -eq 5 ]' || fail "expected 5 deliveries"
stop_listen L

# compare ORIGINAL IMPORTED SOURCE_SUFFIX WITH_DELIVERIES
compare() {
  python3 - "$@" <<'PY'
import json, sys
original = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
imported = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
suffix, with_deliveries = sys.argv[3], sys.argv[4] == "yes"
problems = []
def kind(records, k):
    return [r for r in records if r["kind"] == k]
a, b = kind(original, "event"), kind(imported, "event")
if len(a) != len(b):
    problems.append(f"{len(b)} events imported, want {len(a)}")
new_ids = {}
for x, y in zip(a, b):
    for key in ("method", "target", "http_version", "headers", "body", "body_size",
                "body_sha256", "remote"):
        if x.get(key) != y.get(key):
            problems.append(f"{x['target']}: {key} {y.get(key)!r} != {x.get(key)!r}")
    if x.get("body_encoding") != y.get("body_encoding") or x.get("chunked") != y.get("chunked"):
        problems.append(f"{x['target']}: body_encoding/chunked differ")
    if y["id"] == x["id"] or not y["id"].startswith("evt_"):
        problems.append(f"{x['target']}: id not renewed")
    if not y["source"].startswith("import:") or not y["source"].endswith(suffix):
        problems.append(f"{x['target']}: source {y['source']}")
    new_ids[x["id"]] = y["id"]
da, db = kind(original, "delivery"), kind(imported, "delivery")
if with_deliveries:
    if len(da) != len(db):
        problems.append(f"{len(db)} deliveries imported, want {len(da)}")
    for x, y in zip(da, db):
        if y["event_id"] != new_ids.get(x["event_id"]) or y["id"] == x["id"]:
            problems.append(f"delivery {x['id']}: not relinked")
        for key in ("time", "target", "attempt", "replay", "status", "duration_ms", "response"):
            if x.get(key) != y.get(key):
                problems.append(f"delivery {x['id']}: {key} differs")
elif db:
    problems.append("deliveries imported from HAR")
for p in problems:
    print("round trip:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

"$RAG" export --format har -o "$T/export.har" 2>/dev/null
"$RAG" import --log "$T/from-har.jsonl" "$T/export.har" 2>"$T/har.err" || fail "HAR import failed"
expect_contains "$(cat "$T/har.err")" "imported 5 events from $T/export.har" "HAR summary"
compare "$RAG_LOG" "$T/from-har.jsonl" "/export.har" no || fail "HAR round trip"

# A HAR made from the imported events is the same document but for ids and sources.
"$RAG" export --log "$T/from-har.jsonl" --format har -o "$T/again.har" 2>/dev/null
python3 - "$T/export.har" "$T/again.har" <<'PY' || fail "second HAR differs in requests"
import json, sys
a, b = (json.load(open(p))["log"]["entries"] for p in sys.argv[1:])
sys.exit(0 if [e["request"] for e in a] == [e["request"] for e in b] else 1)
PY

"$RAG" export -o "$T/export.jsonl" 2>/dev/null
"$RAG" import --log "$T/from-jsonl.jsonl" "$T/export.jsonl" 2>"$T/jsonl.err" ||
  fail "JSON Lines import failed"
expect_contains "$(cat "$T/jsonl.err")" "imported 5 events and 5 deliveries from $T/export.jsonl" \
  "JSON Lines summary"
compare "$RAG_LOG" "$T/from-jsonl.jsonl" "/export.jsonl" yes || fail "JSON Lines round trip"
