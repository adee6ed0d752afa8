#!/usr/bin/env bash
# 50 subscribers on 10 channels (5 each) and a steady publisher of 200 webhooks spread
# over the channels: every subscriber receives exactly its channel's 20 events, in
# order, none lost, none twice, none from another channel.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3

start_relay R
for c in $(seq 0 9); do
  for s in $(seq 0 4); do
    curl -sN -H 'Accept: text/event-stream' "$R_URL/chan-$c" >"$T/sub-$c-$s.sse" &
    PIDS+=("$!")
  done
done
wait_for 20 '[ "$(grep -l "^event: ready" "$T"/sub-*.sse | wc -l)" -eq 50 ]' ||
  fail "not all 50 subscribers got their ready event"

# One keep-alive connection, 200 POSTs, channel = n % 10; the ids the relay answered
# go to $T/sent-CHANNEL, in order.
python3 - "$R_PORT" "$T" <<'PY'
import http.client, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
sent = {c: [] for c in range(10)}
for n in range(200):
    c = n % 10
    conn.request("POST", f"/chan-{c}/hook?n={n}", body=json.dumps({"n": n}),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 202:
        sys.exit(f"publish {n}: {response.status} {body!r}")
    sent[c].append(json.loads(body)["id"])
for c, ids in sent.items():
    with open(f"{out}/sent-chan-{c}", "w") as f:
        f.write("\n".join(ids) + "\n")
PY

# Every subscriber's message ids must be its channel's sent ids, exactly.
python3 - "$T" <<'PY' || fail "a subscriber lost, repeated or reordered events"
import json, sys, time
out = sys.argv[1]
def message_ids(path):
    ids, last_id, event, has_data = [], "", "", False
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line == "":
            if has_data and event == "":
                ids.append(last_id)
            event, has_data = "", False
        elif line.startswith("id: "):
            last_id = line[4:]
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data:"):
            has_data = True
    return ids
deadline = time.time() + 20
while True:
    bad = []
    for c in range(10):
        sent = open(f"{out}/sent-chan-{c}").read().split()
        for s in range(5):
            got = message_ids(f"{out}/sub-{c}-{s}.sse")
            if got != sent:
                bad.append(f"sub-{c}-{s}: {len(got)} events, expected chan-{c}'s {len(sent)}")
    if not bad:
        break
    if time.time() > deadline:
        sys.exit("\n".join(bad))
    time.sleep(0.1)
time.sleep(0.3)  # nothing extra arrives later
for c in range(10):
    sent = open(f"{out}/sent-chan-{c}").read().split()
    for s in range(5):
        if message_ids(f"{out}/sub-{c}-{s}.sse") != sent:
            sys.exit(f"sub-{c}-{s} received more than its channel's events")
PY
stop_relay R
