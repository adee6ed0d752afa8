#!/usr/bin/env bash
# `rag log prune` while `rag listen` keeps capturing loses nothing: the listener keeps
# appending (to the new file once the prune renamed it over the log), every line stays
# whole, and the events left are exactly the newest acknowledged ones, with no gap.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_listen L

# One request at a time, so the order of acknowledgements is the order of the events
# in the log. Each acknowledged request's event id (Rag-Event-Id) goes to $T/acks.
: >"$T/acks"
sender() {
  # Not under lib.sh's errexit: a failed request is recorded, it must not end the loop.
  set +e +o pipefail
  local i=0 head code id
  while [ ! -e "$T/stop" ]; do
    i=$((i + 1))
    head=$(curl -sS --max-time 10 -o /dev/null -D - -H 'Content-Type: application/json' \
      -d "{\"n\":$i}" "$L_URL/hook/$i" 2>>"$T/sender.err")
    head=${head//$'\r'/}
    code=${head#* }
    code=${code%% *}
    id=$(sed -n 's/^[Rr]ag-[Ee]vent-[Ii]d: //p' <<<"$head")
    if [ "$code" != 200 ] || [ -z "$id" ]; then
      echo "request $i: status '$code', id '$id'" >>"$T/sender.err"
      continue
    fi
    printf '%s\n' "$id" >>"$T/acks"
  done
  echo "sender ended after $i requests" >"$T/sender.done"
}
sender &
SENDER=$!
PIDS+=("$SENDER")

acks() { wc -l <"$T/acks" | tr -d ' '; }

wait_for 20 '[ "$(acks)" -ge 20 ]' || fail "the sender got no answers"
for round in $(seq 1 8); do
  started=$(acks)
  "$RAG" log prune --keep 5 --json >>"$T/prunes" 2>>"$T/prune.err" ||
    fail "prune $round failed: $(cat "$T/prune.err")"
  finished=$(acks)
  # Let a few more requests land before the next prune.
  wait_for 20 "[ \"\$(acks)\" -ge $((finished + 5)) ]" ||
    fail "the sender stalled after prune $round"
done
# Requests acknowledged after the last prune had finished must all be in the log.
wait_for 20 "[ \"\$(acks)\" -ge $((finished + 20)) ]" || fail "the sender stalled at the end"
touch "$T/stop"
wait "$SENDER"
[ ! -s "$T/sender.err" ] || fail "requests failed during the prunes: $(head -n 5 "$T/sender.err")"
stop_listen L

expect_not_contains "$(cat "$T/L.err")" "error" "rag listen diagnostics"

# No line is corrupt or torn.
"$RAG" log verify >"$T/verify.out" 2>"$T/verify.err" ||
  fail "rag log verify: $(cat "$T/verify.out")"
expect_eq "$(cat "$T/verify.out")" "" "problems found by rag log verify"

python3 - "$RAG_LOG" "$T/acks" "$started" "$finished" <<'PY' || fail "events lost (see above)"
import json, sys
log_path, acks_path = sys.argv[1], sys.argv[2]
started, finished = int(sys.argv[3]), int(sys.argv[4])
records = map(json.loads, open(log_path, encoding="utf-8"))
logged = [r["id"] for r in records if r["kind"] == "event"]
acked = open(acks_path).read().split()
print(f"{len(acked)} acknowledged, {len(logged)} in the log; last prune between acks "
      f"{started} and {finished}")
ok = True
# Everything acknowledged after the last prune finished is there.
missing = [i for i in acked[finished:] if i not in set(logged)]
if missing:
    print(f"acknowledged after the last prune but missing: {missing[:5]}")
    ok = False
# The log holds exactly a suffix of the acknowledged events, in order: prune only ever
# removes the oldest, so an event lost to the rename would leave a gap.
if not logged or logged != acked[len(acked) - len(logged):]:
    print(f"log is not the newest acknowledged events in order: {logged[:3]}...")
    ok = False
if len(logged) < 5 or len(logged) >= len(acked):
    print(f"expected the prunes to leave at least 5 and remove some: {len(logged)}")
    ok = False
sys.exit(0 if ok else 1)
PY
expect_eq "$(grep -c '"rewritten":true' "$T/prunes")" 8 "prunes that rewrote the log"
