"""The bench/http server on Python's http.server.ThreadingHTTPServer.

    python3 bench/http/threading_server.py PORT

One operating-system thread per connection, as the standard library does it;
HTTP/1.1 so that connections are kept alive; TCP_NODELAY on every accepted
socket (the handler writes its head and its body in two sends, and without
it Nagle's algorithm and delayed ACKs hold the second back for tens of
milliseconds); a listen backlog of 4096; no per-request log line.

GET / answers "Hello, world!\\n" as text/plain, GET /json a small JSON object
built per request, anything else 404 "not found\\n". Every answer carries
Content-Length. See bench/http/README.md.
"""

import itertools
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELLO = b"Hello, world!\n"
NOT_FOUND = b"not found\n"

# next() on an itertools.count is one C call, atomic under the GIL.
served = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, content_type, body):
        # send_response_only, not send_response: no Server and Date headers
        # (the other servers in this benchmark send neither) and no log line.
        self.send_response_only(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        n = next(served)
        if self.path == "/":
            self.reply(200, "text/plain", HELLO)
        elif self.path == "/json":
            body = json.dumps(
                {"message": "Hello, world!", "n": n}, separators=(",", ":")
            ).encode()
            self.reply(200, "application/json", body)
        else:
            self.reply(404, "text/plain", NOT_FOUND)

    def log_message(self, format, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 4096  # the listen backlog; socketserver's default is 5

    def get_request(self):
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python3 threading_server.py PORT")
    port = int(sys.argv[1])
    with Server(("127.0.0.1", port), Handler) as server:
        print(f"listening on {port}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
