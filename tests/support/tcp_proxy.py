#!/usr/bin/env python3
"""A tiny TCP proxy on loopback, to cut a connection from the outside in tests.

usage: tcp_proxy.py --target PORT [--port N]

Accepts on 127.0.0.1:N (0 = any free port; SO_REUSEADDR, so a restarted proxy can take
the same port again) and pipes each connection to 127.0.0.1:PORT, both ways. Killing the
process drops every connection it carries, as a relay-side network failure would.
"listening on 127.0.0.1:PORT" goes to stdout (flushed) once bound.
"""
import argparse
import socket
import sys
import threading


def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def serve(client, target):
    try:
        upstream = socket.create_connection(("127.0.0.1", target), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    threads = [threading.Thread(target=pipe, args=(client, upstream), daemon=True),
               threading.Thread(target=pipe, args=(upstream, client), daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    upstream.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    print("listening on 127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, args.target), daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
