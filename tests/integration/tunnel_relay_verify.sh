#!/usr/bin/env bash
# rag tunnel --verify checks each webhook's signature on the bytes the relay carried and
# records the verdict: `rag trigger` signs a sample and posts it to the relay channel;
# the right secret gives "valid", a wrong one "invalid", and with --reject-invalid the
# forgery is logged but not forwarded.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
channel_url=$(new_channel "$R_URL")
start_peer SINK sink
start_tunnel tunnel "$channel_url" -f "$SINK_URL" --ordered --verify github=topsecret \
  --verify stripe=whsec_tunnel --reject-invalid
wait_tunnel_connected tunnel

"$RAG" trigger github.push --to "$channel_url/gh" --secret topsecret >"$T/t1.out" 2>"$T/t1.err" ||
  fail "trigger github.push (right secret)"
"$RAG" trigger github.push --to "$channel_url/gh" --secret wrong >"$T/t2.out" 2>"$T/t2.err" ||
  fail "trigger github.push (wrong secret)"
"$RAG" trigger stripe.payment_intent.succeeded --to "$channel_url/stripe" \
  --secret whsec_tunnel >"$T/t3.out" 2>"$T/t3.err" || fail "trigger stripe"
wait_for 10 '[ "$(log_events)" -ge 3 ]' || fail "expected 3 events in the log"
wait_for 10 '[ "$(peer_count SINK)" -ge 2 ]' || fail "expected 2 webhooks at the target"
stop_tunnel tunnel

grep '"kind":"event"' "$RAG_LOG" >"$T/captured.jsonl"
expect_eq "$(json_field "$T/captured.jsonl" 1 'r["verdict"]')" valid "right github secret"
expect_eq "$(json_field "$T/captured.jsonl" 2 'r["verdict"]')" "invalid: signature mismatch" \
  "wrong github secret"
expect_eq "$(json_field "$T/captured.jsonl" 3 'r["verdict"]')" valid "stripe"
expect_eq "$(peer_count SINK)" 2 "the forgery is not forwarded"
expect_eq "$(json_field "$T/SINK.jsonl" 1 'r["target"]')" /gh "first forwarded"
expect_eq "$(json_field "$T/SINK.jsonl" 2 'r["target"]')" /stripe "second forwarded"
out=$(cat "$T/tunnel.out")
expect_contains "$out" "signature valid" "verdict shown"
expect_contains "$out" "signature invalid: signature mismatch" "failed verdict shown"
