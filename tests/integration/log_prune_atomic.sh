#!/usr/bin/env bash
# `rag log prune` replaces the log atomically: a new file (0600) renamed over the old
# one, no temporary file left behind, a symlinked log pruned through its link; it waits
# for the writers' lock and keeps a line a writer appended while it waited; a failure
# leaves the log as it was.
source "$(dirname "$0")/lib.sh"
need python3

mkdir "$T/logs"
export RAG_LOG="$T/logs/events.jsonl"

# write_events N: a log of N events; event_line N: one event line (no newline).
event_line() {
  python3 - "$1" <<'PY'
import hashlib, json, sys
n = int(sys.argv[1])
body = "x" * 100
print(json.dumps({"v": 1, "kind": "event", "id": "evt_%026d" % n,
                  "time": "2026-01-01T00:00:00.000000Z", "source": "listen:127.0.0.1:7777",
                  "remote": "127.0.0.1:50000", "method": "POST", "target": "/e/%d" % n,
                  "http_version": "HTTP/1.1", "headers": [], "body": body,
                  "body_size": len(body), "body_sha256": hashlib.sha256(body.encode()).hexdigest()},
                 separators=(",", ":")), end="")
PY
}
write_events() {
  : >"$RAG_LOG"
  local n
  for n in $(seq 1 "$1"); do
    event_line "$n" >>"$RAG_LOG"
    echo >>"$RAG_LOG"
  done
}
targets() { grep -o '"target":"/e/[0-9]*"' "$RAG_LOG" | cut -d / -f 3 | tr -d '"' | tr '\n' ' '; }

write_events 10
chmod 0644 "$RAG_LOG"
inode=$(stat -c %i "$RAG_LOG")
"$RAG" log prune --keep 3 >/dev/null 2>&1 || fail "prune failed"
expect_eq "$(targets)" "8 9 10 " "events after --keep 3"
expect_eq "$(ls -A "$T/logs")" "events.jsonl" "files in the log directory (no temporary file)"
expect_eq "$(stat -c %a "$RAG_LOG")" 600 "mode of the new log"
[ "$(stat -c %i "$RAG_LOG")" != "$inode" ] || fail "the log was rewritten in place, not renamed"

# A symlinked log: the link stays, the file it points to is pruned.
write_events 5
ln -s "$RAG_LOG" "$T/link.jsonl"
"$RAG" log prune --keep 1 --log "$T/link.jsonl" >/dev/null 2>&1 || fail "prune through a link"
[ -L "$T/link.jsonl" ] || fail "the symlink was replaced"
expect_eq "$(targets)" "5 " "events after pruning through the link"
expect_eq "$(ls -A "$T/logs")" "events.jsonl" "files after pruning through the link"

# A writer holding the lock: prune waits for it, and keeps the line it appended
# meanwhile (after prune had planned) although that line is beyond --keep.
write_events 6
event_line 77 >"$T/late.line"
python3 - "$RAG_LOG" "$T/late.line" "$T/locked" "$T/release" <<'PY' &
import fcntl, os, sys, time
log, line, locked, release = sys.argv[1:]
fd = os.open(log, os.O_WRONLY | os.O_APPEND)
fcntl.flock(fd, fcntl.LOCK_EX)          # the lock EventLogWriter::append takes
open(locked, "w").close()
while not os.path.exists(release):
    time.sleep(0.01)
os.write(fd, open(line, "rb").read() + b"\n")
fcntl.flock(fd, fcntl.LOCK_UN)
PY
HOLDER=$!
PIDS+=("$HOLDER")
wait_for 10 test -e "$T/locked" || fail "the lock holder did not start"
"$RAG" log prune --keep 2 >"$T/wait.out" 2>"$T/wait.err" &
PRUNE=$!
PIDS+=("$PRUNE")
sleep 0.3
kill -0 "$PRUNE" 2>/dev/null || fail "prune finished while a writer held the lock"
touch "$T/release"
wait "$HOLDER"
wait "$PRUNE" || fail "prune after waiting failed: $(cat "$T/wait.err")"
expect_eq "$(targets)" "5 6 77 " "events after a prune that waited for a writer"
expect_contains "$(cat "$T/wait.out")" "pruned 4 events" "report of the prune that waited"

# A directory prune cannot write to: an error, and the log unchanged.
if [ "$(id -u)" != 0 ]; then
  write_events 4
  cp "$RAG_LOG" "$T/before.jsonl"
  chmod 0500 "$T/logs"
  rc=0
  "$RAG" log prune --keep 1 >/dev/null 2>"$T/ro.err" || rc=$?
  chmod 0700 "$T/logs"
  expect_eq "$rc" 1 "exit code when the directory is read-only"
  expect_contains "$(cat "$T/ro.err")" "cannot create a temporary file" "error for a read-only dir"
  cmp -s "$RAG_LOG" "$T/before.jsonl" || fail "a failed prune changed the log"
  expect_eq "$(ls -A "$T/logs")" "events.jsonl" "files after a failed prune"
fi
