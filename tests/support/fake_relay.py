#!/usr/bin/env python3
"""A scripted stand-in for a smee.io-style relay, for `rag tunnel` tests.

usage: fake_relay.py --messages FILE --record FILE [--port N] [--token T]
                     [--ready-id ID] [--close-after N] [--ignore-last-id]
                     [--ping-interval SECONDS]

Routes:
  GET /new                   307 to http://127.0.0.1:PORT/channel-N (a fresh name each time)
  GET /CHANNEL               (any other path) an event stream: `event: ready` (with `id:`
                             when --ready-id is given), then the canned messages, then
                             `event: ping` heartbeats until the client goes away
  POST /_rag/reply/...       a sync-mode reply: recorded, answered 204

--messages is a JSON list of events, read again for each subscription, each
{"id": ID?, "event": TYPE?, "data": STR|OBJ} (an object is sent as one line of JSON),
or {"raw": TEXT} sent as it is. A subscription
that carries Last-Event-ID gets only the messages whose id sorts after it (messages
without an id are sent on the first subscription only), unless --ignore-last-id.
--close-after N ends the first subscription after N messages (a dropped connection).
With --token, a subscription without `Authorization: Bearer T` gets 401.
Every subscription and reply is appended to --record as one JSON line:
  {"kind":"subscribe","n":1,"path":..,"last_event_id":..,"authorization":..,"accept":..}
  {"kind":"reply","path":..,"content_type":..,"body":..}
"listening on http://127.0.0.1:PORT" goes to stdout (flushed) once bound.
"""
import argparse
import http.server
import json
import socketserver
import sys
import threading
import time


class Relay:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.subscriptions = 0
        self.channels = 0

    def messages(self):
        # Read anew for every subscription, so a test can add messages between them.
        with open(self.args.messages, encoding="utf-8") as f:
            return json.load(f)

    def record(self, entry):
        with self.lock:
            with open(self.args.record, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")


def frame(message):
    if "raw" in message:
        return message["raw"].encode("utf-8")
    lines = []
    if "id" in message:
        lines.append("id: " + message["id"])
    if "event" in message:
        lines.append("event: " + message["event"])
    data = message.get("data", {})
    if not isinstance(data, str):
        data = json.dumps(data, separators=(",", ":"))
    for line in data.split("\n"):
        lines.append("data: " + line)
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    relay = None  # set in main

    def log_message(self, *args):
        pass

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        relay = self.relay
        if self.path == "/new":
            with relay.lock:
                relay.channels += 1
                name = "channel-%d" % relay.channels
            host, port = self.server.server_address[:2]
            self.send_response(307)
            self.send_header("Location", "http://%s:%d/%s" % (host, port, name))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with relay.lock:
            relay.subscriptions += 1
            n = relay.subscriptions
        last_id = self.headers.get("Last-Event-ID")
        relay.record({"kind": "subscribe", "n": n, "path": self.path,
                      "last_event_id": last_id,
                      "authorization": self.headers.get("Authorization"),
                      "accept": self.headers.get("Accept")})
        token = relay.args.token
        if token and self.headers.get("Authorization") != "Bearer " + token:
            body = b'{"error":"a token is needed to subscribe"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            ready = {"event": "ready", "data": "{}"}
            if relay.args.ready_id:
                ready["id"] = relay.args.ready_id
            self.send_chunk(frame(ready))
            sent = 0
            for message in relay.messages():
                if last_id and not relay.args.ignore_last_id:
                    if "id" not in message or message["id"] <= last_id:
                        continue
                elif n > 1 and "id" not in message and not relay.args.ignore_last_id:
                    continue
                self.send_chunk(frame(message))
                sent += 1
                if n == 1 and relay.args.close_after and sent >= relay.args.close_after:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    self.close_connection = True
                    return
            while True:
                time.sleep(relay.args.ping_interval)
                self.send_chunk(b"event: ping\ndata: {}\n\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.relay.record({"kind": "reply", "path": self.path,
                           "content_type": self.headers.get("Content-Type"),
                           "authorization": self.headers.get("Authorization"),
                           "body": body})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token")
    parser.add_argument("--ready-id")
    parser.add_argument("--close-after", type=int, default=0)
    parser.add_argument("--ignore-last-id", action="store_true")
    parser.add_argument("--ping-interval", type=float, default=0.5)
    args = parser.parse_args()
    Handler.relay = Relay(args)
    server = Server(("127.0.0.1", args.port), Handler)
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
