#!/usr/bin/env bash
# smee-client (npm) turns every top-level field of a message except `body` and `query`
# into a request header to its target. A rag relay's messages used to carry gosmee's
# `bodyB` (the whole body in base64) and the `rag` object there, so a Node target with
# its default 16 KiB header limit answered 431 to any webhook over about 12 KiB. A
# subscriber that does not ask for them now gets exactly smee.io's fields: 16 KiB and
# 200 KiB JSON bodies reach a default node:http server exact, with no `bodyb` or `rag`
# header. Skips (77) when node/npm are missing or smee-client cannot be installed.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
# npm install needs the registry: no network namespace of its own (lib.sh).
export RAG_TEST_NETWORK=host
source "$(dirname "$0")/lib.sh"
need curl python3

install_smee_client

# The target: node:http with its defaults (16 KiB of headers), recording every request
# and every request it refused.
cat >"$T/target.js" <<'JS'
const fs = require("node:fs");
const http = require("node:http");
const [out, errors] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    fs.appendFileSync(out, JSON.stringify({method: req.method, url: req.url,
                                           headers: req.headers,
                                           body_b64: body.toString("base64")}) + "\n");
    res.writeHead(200, {"Content-Type": "text/plain"});
    res.end("ok");
  });
});
server.on("clientError", (err, socket) => {
  fs.appendFileSync(errors, `${err.code}\n`);
  socket.end("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
});
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
JS
node "$T/target.js" "$T/target.jsonl" "$T/target.errors" >"$T/target.out" 2>"$T/target.err" &
PIDS+=("$!")
wait_for 10 grep -q 'listening on' "$T/target.out" || fail "the node target did not start"
target_url=$(grep -o 'http://[^ ]*' "$T/target.out" | head -n 1)

start_relay R
channel_url=$(new_channel "$R_URL")
node "$smee" -u "$channel_url" -t "$target_url/hook" >"$T/smee.out" 2>"$T/smee.err" &
PIDS+=("$!")
wait_for 20 'grep -q "Connected" "$T/smee.out"' ||
  fail "smee-client did not connect: $(cat "$T/smee.out" "$T/smee.err")"

# Compact ASCII JSON, so that smee-client's JSON.stringify gives back the same bytes.
python3 - "$T" <<'PY'
import json, sys
for name, size in (("16k", 16 * 1024), ("200k", 200 * 1024)):
    items, n = [], 0
    while len(json.dumps({"items": items}, separators=(",", ":"))) < size:
        items.append({"id": n, "name": "item-%06d" % n, "tags": ["a", "b"], "ok": n % 2 == 0})
        n += 1
    with open(f"{sys.argv[1]}/{name}.json", "w") as f:
        f.write(json.dumps({"items": items}, separators=(",", ":")))
PY
for name in 16k 200k; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-GitHub-Event: push' --data-binary @"$T/$name.json" "$channel_url?size=$name")
  expect_eq "$status" 202 "the provider's POST of $name"
done

wait_for 20 '[ -f "$T/target.jsonl" ] && [ "$(wc -l <"$T/target.jsonl")" -ge 2 ]' ||
  fail "the target got $( (wc -l <"$T/target.jsonl") 2>/dev/null || echo 0) of 2 (refused:" \
    "$(cat "$T/target.errors" 2>/dev/null)); smee-client: $(tail -n 5 "$T/smee.out" "$T/smee.err")"
[ ! -s "$T/target.errors" ] || fail "the target refused requests: $(cat "$T/target.errors")"
python3 - "$T" <<'PY' || fail "what smee-client delivered"
import base64, json, sys
t = sys.argv[1]
records = [json.loads(line) for line in open(f"{t}/target.jsonl")]
problems = []
for record, name in zip(records, ("16k", "200k")):
    want = open(f"{t}/{name}.json", "rb").read()
    headers = record["headers"]
    if record["method"] != "POST" or record["url"] != f"/hook?size={name}":
        problems.append(f"{name}: {record['method']} {record['url']}")
    if base64.b64decode(record["body_b64"]) != want:
        problems.append(f"{name}: the body differs")
    for header in ("bodyb", "rag"):
        if header in headers:
            problems.append(f"{name}: header {header}: {headers[header][:60]}")
    if headers.get("x-github-event") != "push":
        problems.append(f"{name}: x-github-event {headers.get('x-github-event')!r}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
stop_relay R
