#!/usr/bin/env bash
# An event log path that names a FIFO (or a directory, or a device) is never used as the
# log: `rag listen` refuses it at start with one error line and exit 1, before serving; a
# log swapped for a FIFO while listen runs makes each capture answer 500 (never 200, never
# a hang) while listen keeps running; and the readers (inspect, export, log
# stats/verify/prune) fail at once with the same clear error instead of waiting on it.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

# run_within SECONDS NAME ARGS...: run `rag ARGS` (stdout $T/NAME.out, stderr $T/NAME.err)
# and set rc to its exit status; a run still going after SECONDS is killed and fails.
run_within() {
  local limit=$1 name=$2
  shift 2
  "$RAG" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  if ! wait_for "$limit" '! kill -0 '"$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    fail "rag $* still ran after $limit s (waiting on the log?)"
  fi
  rc=0
  wait "$pid" || rc=$?
}

# expect_not_a_file NAME PATH KIND: the run NAME failed with exit 1 and one error line
# saying that PATH is KIND.
expect_not_a_file() {
  expect_eq "$rc" 1 "$1: exit code"
  expect_eq "$(wc -l <"$T/$1.err" | tr -d ' ')" 1 "$1: lines on stderr"
  expect_contains "$(cat "$T/$1.err")" \
    "rag: error: event log $2 is $3, not a regular file (remove it, or pass --log FILE naming a regular file)" \
    "$1: error line"
  rm "$T/$1.err"
}

# status URL: the HTTP status a POST to URL gets ("000" when there was no answer).
status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d '{"a":1}' "$1" || true
}

mkfifo "$T/fifo.jsonl"
mkdir "$T/dir.jsonl"
for case in "fifo:$T/fifo.jsonl:a FIFO (named pipe)" "dir:$T/dir.jsonl:a directory" \
  "dev:/dev/null:a character device"; do
  IFS=: read -r name path kind <<<"$case"
  run_within 10 "start-$name" listen 127.0.0.1:0 --log "$path"
  expect_not_a_file "start-$name" "$path" "$kind"
  expect_not_contains "$(cat "$T/start-$name.out")" "Ready" "start-$name: nothing served"
done

# Readers given a FIFO nobody writes to: an error at once, not a wait for a writer.
run_within 10 inspect inspect --log "$T/fifo.jsonl"
expect_not_a_file inspect "$T/fifo.jsonl" "a FIFO (named pipe)"
run_within 10 inspect-id inspect 0 --log "$T/fifo.jsonl"
expect_not_a_file inspect-id "$T/fifo.jsonl" "a FIFO (named pipe)"
run_within 10 follow inspect --follow --log "$T/fifo.jsonl"
expect_not_a_file follow "$T/fifo.jsonl" "a FIFO (named pipe)"
run_within 10 export export --log "$T/fifo.jsonl"
expect_not_a_file export "$T/fifo.jsonl" "a FIFO (named pipe)"
run_within 10 export-o export --log "$T/fifo.jsonl" -o "$T/out.jsonl"
expect_not_a_file export-o "$T/fifo.jsonl" "a FIFO (named pipe)"
for sub in stats verify "prune --keep 1"; do
  # shellcheck disable=SC2086 # $sub is the subcommand and its arguments
  run_within 10 "log-${sub%% *}" log $sub --log "$T/fifo.jsonl"
  expect_not_a_file "log-${sub%% *}" "$T/fifo.jsonl" "a FIFO (named pipe)"
done
run_within 10 inspect-dir inspect --log "$T/dir.jsonl"
expect_not_a_file inspect-dir "$T/dir.jsonl" "a directory"

# Swapped while listen runs, with a reader waiting on the FIFO (as `cat` would be).
start_listen L
expect_eq "$(status "$L_URL/one")" 200 "capture before the swap"
rm "$RAG_LOG"
mkfifo "$RAG_LOG"
cat "$RAG_LOG" >"$T/fifo-read.out" 2>/dev/null &
PIDS+=("$!")
expect_eq "$(status "$L_URL/two")" 500 "capture into a FIFO"
expect_eq "$(status "$L_URL/three")" 500 "capture into a FIFO, again"
kill -0 "$L_PID" 2>/dev/null || fail "listen stopped"
expect_contains "$(cat "$T/L.err")" "event log $RAG_LOG is a FIFO (named pipe), not a regular file" \
  "listen says why"
expect_eq "$(wc -c <"$T/fifo-read.out" | tr -d ' ')" 0 "bytes written into the FIFO"

# A log moved away and a FIFO put in its place: noticed at the next look at the path.
rm "$RAG_LOG"
expect_eq "$(status "$L_URL/four")" 200 "capture once a file is back"
mv "$RAG_LOG" "$T/moved.jsonl"
mkfifo "$RAG_LOG"
wait_for 5 '[ "$(status "$L_URL/five")" = 500 ]' || fail "capture into a FIFO after a move"

rm "$RAG_LOG"
expect_eq "$(status "$L_URL/six")" 200 "capture once a file is back again"
expect_eq "$(grep -c '"kind":"event"' "$RAG_LOG")" 1 "events in the new log"
expect_contains "$(cat "$RAG_LOG")" '"target":"/six"' "the new log's event"
stop_listen L
