#!/usr/bin/env bash
# Every acknowledged request is in the log before its answer: kill -9 right after
# 200 acknowledged requests loses none of them.
source "$(dirname "$0")/lib.sh"
need curl

start_listen L
urls=()
for i in $(seq 1 200); do urls+=("$L_URL/hook/$i"); done
# Keep-alive connections, several at once, as a provider retrying a burst would.
# (curl's -o applies to one URL only, so bodies go to the file with the codes.)
printf '%s\n' "${urls[@]}" | xargs -P 4 -n 50 curl -sS -w '\n%{http_code}\n' \
  -H 'Content-Type: application/json' -d '{"n":1}' >"$T/codes"
expect_eq "$(grep -c '^200$' "$T/codes")" 200 "acknowledged requests"

kill -9 "$L_PID"
wait "$L_PID" 2>/dev/null || true
expect_eq "$(log_events)" 200 "events in the log after kill -9"
for i in 1 100 200; do
  expect_eq "$("$RAG" inspect --json --path "/hook/$i" | grep -c '"kind":"event"')" 1 "event /hook/$i"
done
