#!/usr/bin/env bash
# A held target (it answers only when the test releases it) delays neither the
# sender's answer from the primary nor other events; --respond 202 answers before
# the primary is even called.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl

start_peer A sink --status 200 --body fast
start_peer H hold --hold-file "$T/release"
start_listen L -f "$A_URL" -f "$H_URL"

for i in 1 2 3; do
  answer=$(curl -sS -m 20 -d "n=$i" "$L_URL/hook")
  expect_eq "$answer" fast "sender gets the primary's answer while the held target waits ($i)"
done
wait_for 5 '[ "$(peer_count H)" -ge 1 ]' || fail "held target never received a request"
# The primary's records are written just after each answer went out.
wait_for 5 '[ "$(log_deliveries)" -ge 3 ]' || fail "the primary's deliveries were not recorded"
expect_eq "$(log_deliveries)" 3 "only the primary's deliveries are done"
touch "$T/release"
wait_for 10 '[ "$(log_deliveries)" -eq 6 ]' || { cat "$RAG_LOG" "$T/H.jsonl" "$T/L.out" >&2; fail "held deliveries did not finish after release"; }
stop_listen L

# --respond 202: the sender is answered while the (held) primary has not answered.
rm -f "$T/release"
start_peer P hold --hold-file "$T/release"
start_listen R -f "$P_URL" --respond 202
answer=$(curl -sS -m 20 -w ' %{http_code}' -d 'x' "$R_URL/async")
expect_contains "$answer" "202" "--respond 202 answers at once"
expect_contains "$answer" '"id":"evt_' "--respond answer carries the event id"
wait_for 5 '[ "$(peer_count P)" -eq 1 ]' || fail "primary was not called in the background"
touch "$T/release"
wait_for 10 grep -q "\"target\":\"$P_URL/async\"" "$RAG_LOG" || fail "background delivery not recorded"
stop_listen R
