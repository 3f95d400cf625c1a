#!/usr/bin/env python3
"""Hold N idle TCP connections to 127.0.0.1:PORT until stdin closes.

Prints `holding N` once every connection is established (and the server
has accepted it, as far as a connect can tell).
"""
import resource
import socket
import sys

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    conns.append(s)
print(f"holding {len(conns)}", flush=True)
sys.stdin.read()
