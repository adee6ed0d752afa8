#!/usr/bin/env bash
# An https target with a self-signed certificate is refused with a clear error, and
# accepted with --insecure; the body arrives intact over TLS.
# shellcheck disable=SC2016 # wait_for re-evaluates its single-quoted check
source "$(dirname "$0")/lib.sh"
need curl python3 openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=localhost' \
  -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
cat >"$T/https.py" <<'PY'
import http.server, ssl, sys, hashlib
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply = hashlib.sha256(body).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$T/https.py" "$T/cert.pem" "$T/key.pem" >"$T/https.port" 2>"$T/https.err" &
PIDS+=("$!")
wait_for 10 '[ -s "$T/https.port" ]' || fail "https test server did not start"
port=$(cat "$T/https.port")

head -c 100000 /dev/urandom >"$T/body"
sha=$(sha256sum <"$T/body" | cut -d' ' -f1)

start_listen L -f "https://127.0.0.1:$port"
answer=$(curl -sS -w '\n%{http_code}' --data-binary "@$T/body" "$L_URL/tls")
expect_eq "$(tail -n 1 <<<"$answer")" 502 "self-signed target refused without --insecure"
expect_contains "$answer" "TLS handshake failed" "the TLS problem is named"
stop_listen L

start_listen M -f "https://127.0.0.1:$port" --insecure
answer=$(curl -sS --data-binary "@$T/body" "$M_URL/tls")
expect_eq "$answer" "$sha" "body arrived intact over TLS with --insecure"
stop_listen M
