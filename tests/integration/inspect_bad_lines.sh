#!/usr/bin/env bash
# A log with a corrupt line in the middle and a torn last line: `rag inspect ID` (which
# reads the whole log to find the event) names both, once each, as `rag log verify` lists
# both; the table of the newest events names both when it reads that far.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
for i in 1 2 3 4; do
  curl -sS -o /dev/null -d "{\"n\":$i}" "$L_URL/hook/$i"
done
stop_listen L
first=$("$RAG" inspect --json | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
last=$("$RAG" inspect --json | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Line 3 becomes garbage (a block of a disk gone bad), and a writer died mid-line.
python3 - "$RAG_LOG" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
lines[2] = "\x00" * 40 + "garbage\n"
open(sys.argv[1], "w").write("".join(lines) + '{"v":1,"kind":"event","id":"evt_tor')
PY
corrupt="rag: warning: $RAG_LOG:3: skipped corrupt line (not valid JSON)"
torn="rag: warning: $RAG_LOG:5: skipped torn last line (35 bytes, no newline)"

"$RAG" log verify >"$T/verify.out" 2>/dev/null && fail "log verify found nothing"
expect_eq "$(cat "$T/verify.out")" "$(printf '3: not valid JSON\n5: torn last line (35 bytes, no newline)')" \
  "log verify lists both"

for id in "$first" "$last"; do
  for view in "" --body --headers --curl --json; do
    # shellcheck disable=SC2086 # $view is one flag or none
    "$RAG" inspect "$id" $view >/dev/null 2>"$T/err" || fail "inspect $id $view"
    err=$(cat "$T/err")
    expect_contains "$err" "$corrupt" "inspect $id $view names the corrupt line"
    expect_contains "$err" "$torn" "inspect $id $view names the torn line"
    expect_eq "$(wc -l <"$T/err" | tr -d ' ')" 2 "inspect $id $view: each once: $err"
  done
done

"$RAG" inspect >/dev/null 2>"$T/table.err"
expect_eq "$(sort "$T/table.err")" "$(printf '%s\n%s' "$corrupt" "$torn" | sort)" "the table names both"
