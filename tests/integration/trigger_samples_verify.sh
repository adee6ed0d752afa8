#!/usr/bin/env bash
# Every built-in sample, sent by `rag trigger` to a sink, arrives as a POST with its
# provider's header set and a signature that an independent verifier (Python's hmac and
# hashlib, written from the providers' documentation, not from rag's code) accepts with
# the test secret rag printed; a changed body byte or secret is rejected by it.
source "$(dirname "$0")/lib.sh"
need python3

start_peer S sink --body 'thanks'

samples=$("$RAG" trigger --list | cut -d' ' -f1)
n=0
for sample in $samples; do
  n=$((n + 1))
  rc=0
  "$RAG" trigger "$sample" --to "$S_URL/hooks/in?x=1" >"$T/out.$n" 2>"$T/err.$n" || rc=$?
  expect_eq "$rc" 0 "$sample: exit code"
  expect_eq "$(cat "$T/out.$n")" "thanks" "$sample: response body on stdout"
  expect_contains "$(cat "$T/err.$n")" "$sample → 200 OK $S_URL/hooks/in?x=1" "$sample: status line"
  secret=$(sed -n 's/^rag: signing with the [a-z]* test secret \(.*\) (configure your app.*$/\1/p' \
    "$T/err.$n")
  [ -n "$secret" ] || fail "$sample: no test secret printed: $(cat "$T/err.$n")"
  expect_eq "$(peer_count S)" "$n" "$sample: requests received"
  python3 - "$T/S.jsonl" "$n" "$sample" "$secret" <<'PY' || fail "$sample: independent verification failed"
import base64, hashlib, hmac, json, re, sys, time

record = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1])
sample, secret = sys.argv[3], sys.argv[4]
provider = sample.split(".")[0]
body = base64.b64decode(record["body_b64"])
headers = {}
for name, value in record["headers"]:
    headers.setdefault(name.lower(), value)
names = [name for name, _ in record["headers"]]
problems = []

def need(cond, what):
    if not cond:
        problems.append(what)

def mac(key, msg, algo=hashlib.sha256):
    return hmac.new(key, msg, algo).digest()

def fresh(ts):
    return abs(time.time() - int(ts)) < 120

def check(key_bytes, body_bytes):
    """Return True when the headers carry a valid signature for body_bytes under key_bytes."""
    if provider == "github":
        v256 = headers["x-hub-signature-256"]
        v1 = headers["x-hub-signature"]
        return (hmac.compare_digest(v256, "sha256=" + mac(key_bytes, body_bytes).hex()) and
                hmac.compare_digest(v1, "sha1=" + mac(key_bytes, body_bytes, hashlib.sha1).hex()))
    if provider == "stripe":
        parts = dict(p.split("=", 1) for p in headers["stripe-signature"].split(","))
        signed = parts["t"].encode() + b"." + body_bytes
        return hmac.compare_digest(parts["v1"], mac(key_bytes, signed).hex())
    if provider == "shopify":
        expected = base64.b64encode(mac(key_bytes, body_bytes)).decode()
        return hmac.compare_digest(headers["x-shopify-hmac-sha256"], expected)
    if provider == "slack":
        ts = headers["x-slack-request-timestamp"]
        expected = "v0=" + mac(key_bytes, b"v0:" + ts.encode() + b":" + body_bytes).hex()
        return hmac.compare_digest(headers["x-slack-signature"], expected)
    if provider == "standard":
        signed = (headers["webhook-id"] + "." + headers["webhook-timestamp"] + ".").encode() + body_bytes
        expected = base64.b64encode(mac(key_bytes, signed)).decode()
        return any(s.startswith("v1,") and hmac.compare_digest(s[3:], expected)
                   for s in headers["webhook-signature"].split(" "))
    raise SystemExit(f"unknown provider {provider}")

key = secret.encode()
if provider == "standard":
    need(secret.startswith("whsec_"), "standard secret has no whsec_ prefix")
    key = base64.b64decode(secret[len("whsec_"):])

need(record["method"] == "POST", f"method {record['method']}")
need(record["target"] == "/hooks/in?x=1", f"target {record['target']}")
need(names[0] == "Host", f"first header {names[0]}")
need(headers.get("content-length") == str(len(body)), "Content-Length")
payload = json.loads(body)
uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

if provider == "github":
    event = sample.split(".")[1]
    need(headers.get("x-github-event") == event, "X-GitHub-Event")
    need(uuid.match(headers.get("x-github-delivery", "")), "X-GitHub-Delivery is a uuid")
    need(headers.get("x-github-hook-id", "").isdigit(), "X-GitHub-Hook-ID")
    need(headers.get("user-agent", "").startswith("GitHub-Hookshot/"), "User-Agent")
    need(headers.get("content-type") == "application/json", "Content-Type")
    need(re.match(r"^sha256=[0-9a-f]{64}$", headers.get("x-hub-signature-256", "")), "sig256 form")
    need(re.match(r"^sha1=[0-9a-f]{40}$", headers.get("x-hub-signature", "")), "sig1 form")
    if event == "pull_request":
        need(payload["action"] == "opened", "action opened")
elif provider == "stripe":
    need(headers.get("user-agent") == "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "User-Agent")
    need(re.match(r"^t=\d+,v1=[0-9a-f]{64}$", headers.get("stripe-signature", "")), "Stripe-Signature form")
    t = headers["stripe-signature"].split(",")[0][2:]
    need(fresh(t), "Stripe t= is fresh")
    need(payload["type"] == sample[len("stripe."):], "event type")
    need(re.match(r"^evt_[A-Za-z0-9]{24}$", payload["id"]), "evt_ id")
    need(abs(payload["created"] - int(t)) <= 1, "created is the send time")
    need(body.startswith(b'{\n  "id": "evt_'), "pretty-printed like Stripe")
elif provider == "shopify":
    need(headers.get("x-shopify-topic") == "orders/create", "X-Shopify-Topic")
    need(headers.get("x-shopify-shop-domain", "").endswith(".myshopify.com"), "shop domain")
    need(uuid.match(headers.get("x-shopify-webhook-id", "")), "X-Shopify-Webhook-Id")
    need(re.match(r"^\d{4}-\d{2}$", headers.get("x-shopify-api-version", "")), "API version")
    need(len(base64.b64decode(headers.get("x-shopify-hmac-sha256", ""))) == 32, "hmac form")
elif provider == "slack":
    need(fresh(headers.get("x-slack-request-timestamp", "0")), "Slack timestamp is fresh")
    need(re.match(r"^v0=[0-9a-f]{64}$", headers.get("x-slack-signature", "")), "Slack signature form")
    need(payload["type"] == "event_callback", "event_callback")
elif provider == "standard":
    need(headers.get("webhook-id", "").startswith("msg_"), "webhook-id")
    need(fresh(headers.get("webhook-timestamp", "0")), "webhook-timestamp is fresh")

need(check(key, body), "signature does not verify")
tampered = bytearray(body)
tampered[len(tampered) // 2] ^= 1
need(not check(key, bytes(tampered)), "signature verifies a changed body")
need(not check(key + b"x", body), "signature verifies with another secret")
for p in problems:
    print(f"{sample}: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
done
expect_eq "$n" 9 "samples sent"
