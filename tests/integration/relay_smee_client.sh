#!/usr/bin/env bash
# The public smee-client (npm, pinned below) pointed at a `rag relay` channel delivers
# a JSON webhook to a local target: same JSON body, the provider's headers, the query.
# Skips (77) when node/npm are missing or the package cannot be installed (offline).
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
# npm install needs the registry: no network namespace of its own (lib.sh).
export RAG_TEST_NETWORK=host
source "$(dirname "$0")/lib.sh"
need curl python3

install_smee_client

start_peer SINK sink --status 200 --body ok
start_relay R
channel_url=$(new_channel "$R_URL")

node "$smee" -u "$channel_url" -t "$SINK_URL/hook" >"$T/smee.out" 2>"$T/smee.err" &
PIDS+=("$!")
wait_for 20 'grep -q "Connected" "$T/smee.out"' || fail "smee-client did not connect: $(cat "$T/smee.out" "$T/smee.err")"

# A GitHub-shaped push webhook.
python3 - >"$T/payload.json" <<'PY'
import json
print(json.dumps({
    "ref": "refs/heads/main", "before": "0" * 40, "after": "a" * 40,
    "repository": {"id": 1, "full_name": "octo/hello", "private": False,
                   "owner": {"login": "octo", "id": 2}},
    "commits": [{"id": "a" * 40, "message": "Fix \u2713 \"quotes\"\nline two",
                 "added": ["x.c"], "removed": [], "modified": ["y.c"]}],
    "pusher": {"name": "octo", "email": None}, "size": 1, "forced": False,
}, separators=(",", ":")))
PY
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958' \
  -H 'X-Hub-Signature-256: sha256=0123abcd' --data-binary @"$T/payload.json" "$channel_url?via=smee")
expect_eq "$status" 202 "the provider's POST to the relay"

wait_for 20 '[ "$(peer_count SINK)" -ge 1 ]' || fail "smee-client delivered nothing: $(cat "$T/smee.out" "$T/smee.err")"
python3 - "$T/SINK.jsonl" "$T/payload.json" <<'PY' || fail "what smee-client delivered"
import base64, json, sys
record = json.loads(open(sys.argv[1]).readline())
want = json.load(open(sys.argv[2]))
headers = {name.lower(): value for name, value in record["headers"]}
problems = []
if record["method"] != "POST":
    problems.append(f"method {record['method']}")
if record["target"] != "/hook?via=smee":
    problems.append(f"target {record['target']}")
if json.loads(base64.b64decode(record["body_b64"])) != want:
    problems.append("the JSON body differs")
for name, value in [("x-github-event", "push"), ("content-type", "application/json"),
                    ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                    ("x-hub-signature-256", "sha256=0123abcd")]:
    if headers.get(name) != value:
        problems.append(f"header {name}: {headers.get(name)!r}")
if problems:
    print("\n".join(problems), "\n", record, file=sys.stderr)
    sys.exit(1)
PY
stop_relay R
