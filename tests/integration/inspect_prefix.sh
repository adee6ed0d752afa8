#!/usr/bin/env bash
# `rag inspect ID` accepts any unique prefix of an event id ("evt_" optional, any
# case); an ambiguous prefix lists the candidates and exits 1, an unknown one exits 1.
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L
curl -sS -o /dev/null -X POST "$L_URL/one" -H 'Content-Type: application/json' -d '{"n":1}'
curl -sS -o /dev/null -X POST "$L_URL/two" -d 'n=2'
stop_listen L
mapfile -t ids < <("$RAG" inspect --json | python3 -c '
import json, sys
print("\n".join(json.loads(l)["id"] for l in sys.stdin))')
[ "${#ids[@]}" -eq 2 ] || fail "expected 2 events"
one=${ids[0]}
two=${ids[1]}

# The shortest prefixes that tell the two apart.
common=$(python3 -c 'import os, sys; print(os.path.commonprefix(sys.argv[1:]))' "$one" "$two")
short_one=${one:0:$((${#common} + 1))}

detail=$("$RAG" inspect "$short_one")
expect_contains "$(printf '%s\n' "$detail" | head -n 1)" "POST /one HTTP/1.1" "unique prefix"
expect_contains "$detail" "id       $one" "the full id in the detail view"
without_evt=${short_one#evt_}
expect_contains "$("$RAG" inspect "${without_evt,,}" | head -n 1)" "POST /one" \
  "prefix without evt_, in lower case"
expect_eq "$("$RAG" inspect "$two" --body)" "n=2" "a full id"

rc=0
"$RAG" inspect "$common" >"$T/ambiguous.out" 2>"$T/ambiguous.err" || rc=$?
expect_eq "$rc" 1 "exit code for an ambiguous prefix"
expect_eq "$(cat "$T/ambiguous.out")" "" "stdout for an ambiguous prefix"
message=$(cat "$T/ambiguous.err")
expect_contains "$message" "rag: error: " "error prefix"
expect_contains "$message" "ambiguous" "ambiguous prefix message"
expect_contains "$message" "$one" "first candidate listed"
expect_contains "$message" "$two" "second candidate listed"

rc=0
"$RAG" inspect evt_ZZZZ >/dev/null 2>"$T/none.err" || rc=$?
expect_eq "$rc" 1 "exit code for an unknown id"
expect_contains "$(cat "$T/none.err")" "no event matches 'evt_ZZZZ'" "unknown id message"
