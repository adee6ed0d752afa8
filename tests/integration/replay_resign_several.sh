#!/usr/bin/env bash
# Several --resign flags: each event is re-signed only with the schemes whose headers it
# carries (as --verify decides which provider applies), so a Stripe event gets a fresh
# Stripe-Signature and no webhook-* or X-Slack-* headers. An event that carries none of
# them is sent as captured, with a warning naming it; with a single --resign it is signed
# all the same (it was asked for). --dry-run says what each event is re-signed with.
source "$(dirname "$0")/lib.sh"
need curl python3

stripe_secret=sk_test_several
standard_secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
slack_secret=slack_several

start_listen L
body='{"type":"payment_intent.succeeded"}'
curl -sS -o /dev/null -H 'Stripe-Signature: t=1,v1=00' -d "$body" "$L_URL/stripe"
curl -sS -o /dev/null -H 'webhook-id: msg_1' -H 'webhook-timestamp: 1' \
  -H 'webhook-signature: v1,AAAA' -d '{"type":"user.created"}' "$L_URL/standard"
curl -sS -o /dev/null -H 'X-Slack-Signature: v0=00' -H 'X-Slack-Request-Timestamp: 1' \
  -d 'token=x' "$L_URL/slack"
curl -sS -o /dev/null -d 'plain' "$L_URL/plain"
stop_listen L
plain_id=$("$RAG" inspect --json --last 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

resign=(--resign "stripe=$stripe_secret" --resign "standard=$standard_secret"
  --resign "slack=$slack_secret")
start_peer S sink
rc=0
"$RAG" replay --last 4 --to "$S_URL" "${resign[@]}" >"$T/replay.out" 2>"$T/replay.err" || rc=$?
expect_eq "$rc" 0 "replay exit code: $(cat "$T/replay.err")"
expect_eq "$(peer_count S)" 4 "every event was sent"
expect_contains "$(cat "$T/replay.err")" "rag: warning: $plain_id not re-signed" \
  "the event without any of the schemes is named"
expect_eq "$(grep -c 'not re-signed' "$T/replay.err")" 1 "only that one is not re-signed"

python3 - "$T/S.jsonl" "$stripe_secret" "$body" <<'PY' || fail "the headers each event got are wrong"
import hashlib, hmac, json, sys
schemes = {
    "stripe": {"stripe-signature"},
    "standard": {"webhook-id", "webhook-timestamp", "webhook-signature"},
    "slack": {"x-slack-signature", "x-slack-request-timestamp"},
    "plain": set(),
}
every = set().union(*schemes.values()) | {"svix-id", "svix-timestamp", "svix-signature",
                                           "x-hub-signature-256", "x-shopify-hmac-sha256"}
seen = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = r["target"].strip("/")
    seen.add(name)
    headers = {n.lower(): v for n, v in r["headers"]}
    present = every & set(headers)
    assert present == schemes[name], (name, sorted(present))
    if name == "stripe":
        parts = dict(p.split("=", 1) for p in headers["stripe-signature"].split(","))
        assert parts["t"] != "1", "a fresh timestamp"
        mac = hmac.new(sys.argv[2].encode(), f"{parts['t']}.{sys.argv[3]}".encode(),
                       hashlib.sha256).hexdigest()
        assert parts["v1"] == mac, "the Stripe signature verifies"
    if name == "standard":
        assert headers["webhook-id"] == "msg_1", "the id is kept"
        assert headers["webhook-timestamp"] != "1", "a fresh timestamp"
    if name == "slack":
        assert headers["x-slack-request-timestamp"] != "1", "a fresh timestamp"
assert seen == set(schemes), seen
PY

# --dry-run tells, per event, what it would be re-signed with.
"$RAG" replay --last 4 --to "$S_URL" "${resign[@]}" --dry-run >"$T/dry.out" 2>"$T/dry.err" ||
  fail "dry run: $(cat "$T/dry.err")"
python3 - "$T/dry.out" <<'PY' || fail "--dry-run does not say what each event is re-signed with"
import re, sys
blocks = re.split(r"\n(?=POST )", open(sys.argv[1]).read().strip())
said = {}
for block in blocks:
    path = re.match(r"POST http://[^/]+/(\w+)", block).group(1)
    said[path] = re.search(r"^  re-signed: (.*)$", block, re.M).group(1)
assert said == {"stripe": "stripe", "standard": "standard", "slack": "slack",
                "plain": "no (sent as captured)"}, said
PY
"$RAG" replay --last 4 --to "$S_URL" "${resign[@]}" --dry-run --json >"$T/dry.json" 2>/dev/null ||
  fail "dry run --json"
expect_eq "$(python3 -c '
import json, sys
for r in map(json.loads, sys.stdin):
    print(r["target"] + "=" + ",".join(r["resigned"]))' <"$T/dry.json" | tr '\n' ' ')" \
  "/stripe=stripe /standard=standard /slack=slack /plain= " "--dry-run --json resigned"
expect_eq "$(peer_count S)" 4 "the dry runs sent nothing"

# A single --resign still signs an event that has none of its headers: it was asked for.
"$RAG" replay "$plain_id" --to "$S_URL" --resign "github=gh_secret" >/dev/null 2>"$T/one.err" ||
  fail "replay with one --resign: $(cat "$T/one.err")"
expect_not_contains "$(cat "$T/one.err")" "not re-signed" "no warning with a single --resign"
expect_eq "$(json_field "$T/S.jsonl" 5 '[n for n, v in r["headers"] if n.lower().startswith("x-hub-")]')" \
  "['X-Hub-Signature-256']" "a single --resign signs it"
