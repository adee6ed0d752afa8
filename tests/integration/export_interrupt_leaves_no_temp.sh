#!/usr/bin/env bash
# `rag export -o FILE` stopped by SIGTERM while it writes leaves no temporary file behind:
# the signal takes effect once FILE is complete and in place.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need python3

# A log big enough that writing the HAR takes a while.
python3 - "$RAG_LOG" <<'PY'
import hashlib, json, sys
body = "x" * 2000
digest = hashlib.sha256(body.encode()).hexdigest()
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(8000):
        record = {"v": 1, "kind": "event", "id": "evt_%026d" % i,
                  "time": "2026-01-01T00:00:%02d.%06dZ" % (i // 1000000, i % 1000000),
                  "source": "listen:127.0.0.1:7777", "remote": "127.0.0.1:1", "method": "POST",
                  "target": "/a", "http_version": "HTTP/1.1", "headers": [["Host", "x"]],
                  "body": body, "body_size": len(body), "body_sha256": digest}
        f.write(json.dumps(record, separators=(",", ":")) + "\n")
PY

mkdir "$T/out"
"$RAG" export --format har -o "$T/out/out.har" 2>"$T/export.err" &
pid=$!
PIDS+=("$pid")
# temp_files: the files in $T/out other than the export itself.
temp_files() { find "$T/out" -mindepth 1 ! -name out.har; }
wait_for 60 '[ -n "$(temp_files)" ]' || fail "never saw the export's temporary file"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_eq "$rc" 143 "exit status after SIGTERM"
expect_eq "$(temp_files)" "" "files left in the output directory"
python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' \
  "$T/out/out.har" >"$T/entries" || fail "out.har is not complete"
expect_eq "$(cat "$T/entries")" 8000 "entries in out.har"
