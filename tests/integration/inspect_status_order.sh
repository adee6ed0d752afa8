#!/usr/bin/env bash
# The STATUS column of `rag inspect` lists the targets in one fixed order on every row (the
# order the listener calls them: the primary first), not in the order they answered; when
# every row has the same targets, a line above the table names them in that order.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_peer P hold --hold-file "$T/go"
start_peer Q sink --status 503
start_listen L -f "$P_URL" -f "$Q_URL"
# The primary P holds the first request until Q has answered: Q's delivery is logged first.
curl -sS -o /dev/null -d first "$L_URL/first" &
curl_pid=$!
wait_for 5 '[ "$(log_deliveries)" -eq 1 ]' || fail "Q did not answer"
touch "$T/go"
wait "$curl_pid"
for i in 1 2 3; do
  curl -sS -o /dev/null -d "n$i" "$L_URL/next$i"
done
wait_for 5 '[ "$(log_deliveries)" -eq 8 ]' || fail "not every delivery was logged"
stop_listen L
expect_contains "$(grep -o '"target":"[^"]*"' "$RAG_LOG" | sed -n 2p)" "$Q_URL/first" \
  "the 503 was logged first"

table=$("$RAG" inspect)
rows=$(printf '%s\n' "$table" | grep ' POST ')
expect_eq "$(printf '%s\n' "$rows" | wc -l)" 4 "four rows"
expect_eq "$(printf '%s\n' "$rows" | grep -c ' 200 503 ')" 4 "every row reads 200 503: $rows"
expect_eq "$(printf '%s\n' "$table" | head -n 1)" \
  "STATUS is per target, in this order: $P_URL, $Q_URL" "the legend names the targets"
expect_contains "$(printf '%s\n' "$table" | sed -n 2p)" "STATUS" "then the header"
expect_eq "$(printf '%s\n' "$table" | wc -l)" 6 "legend, header and four rows"

# A replay to another target adds a column after the original ones; the rows then differ,
# so there is no legend, and the order of the others stays.
start_peer R sink --status 202
first=$("$RAG" inspect --json --last 4 | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$RAG" replay "$first" --to "$R_URL" >/dev/null 2>&1 || fail "replay --to R"
table=$("$RAG" inspect)
expect_contains "$(printf '%s\n' "$table" | head -n 1)" "TIME" "no legend when the rows differ"
expect_contains "$(printf '%s\n' "$table" | sed -n 2p)" " 200 503 202 " "the replay's column comes last"
expect_eq "$(printf '%s\n' "$table" | tail -n +3 | grep -c ' 200 503 ')" 3 "the other rows keep the order"

# One target: no legend, as before.
start_listen S -f "$P_URL" --log "$T/single.jsonl"
curl -sS -o /dev/null -d x "$S_URL/x"
stop_listen S
expect_contains "$("$RAG" inspect --log "$T/single.jsonl" | head -n 1)" "TIME" "no legend for one target"
