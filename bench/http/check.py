"""Check that a bench/http server gives the three answers, before it is timed.

    python3 bench/http/check.py PORT [--show]

Over one connection it asks GET /, GET /json twice and GET /nope, and wants:
  /      200, Content-Type text/plain, body "Hello, world!\\n"
  /json  200, Content-Type application/json, a JSON object whose "message"
         is "Hello, world!" and whose "n" is an integer, larger the second
         time
  /nope  404, body "not found\\n"
each with a Content-Length that matches its body, and the connection still
open after each (keep-alive). Then, on a second connection, GET / with
"Connection: close" must be answered and the connection closed by the
server. A media type may carry parameters (text/plain; charset=utf-8 is
accepted).

Exit status 0 and "ok" when all is well; otherwise 1 and one line saying
what was wrong. With --show, the raw head of each answer is printed too.
"""

import json
import socket
import sys

TIMEOUT = 5.0


class Wrong(Exception):
    pass


class Conn:
    def __init__(self, port):
        try:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except OSError as e:
            raise Wrong(f"cannot connect: {e}")
        self.buf = b""

    def _fill(self, what):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Wrong(f"no complete answer in {TIMEOUT:g} s ({what})")
        except OSError as e:
            raise Wrong(f"connection error ({what}): {e}")
        if not data:
            raise Wrong(f"connection closed by the server ({what})")
        self.buf += data

    def ask(self, path, extra=b""):
        """Send GET PATH; return (status, headers dict, raw head, body)."""
        what = f"GET {path}"
        self.sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"
        )
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Wrong(f"answer head too long ({what})")
            self._fill(what)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")
        if len(status) < 2 or not status[0].startswith("HTTP/1.") or not status[1].isdigit():
            raise Wrong(f"bad status line {lines[0]!r} ({what})")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise Wrong(f"bad header line {line!r} ({what})")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise Wrong(f"no Content-Length ({what})")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise Wrong(f"chunked answer ({what})")
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise Wrong(f"bad Content-Length {headers['content-length']!r} ({what})")
        while len(self.buf) < length:
            self._fill(what)
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(status[1]), headers, head, body

    def closed_by_server(self):
        """True if the server closes the connection within TIMEOUT."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                # Bytes after the answer: not a clean close.
                return False
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def media_type(headers):
    return headers.get("content-type", "").split(";")[0].strip().lower()


def expect(cond, message):
    if not cond:
        raise Wrong(message)


def check(port, show):
    c = Conn(port)

    status, headers, head, body = c.ask("/")
    if show:
        print(head.decode("latin-1") + "\r\n")
    expect(status == 200, f"GET / answered {status}, not 200")
    expect(media_type(headers) == "text/plain",
           f"GET / has Content-Type {headers.get('content-type')!r}, not text/plain")
    expect(body == b"Hello, world!\n", f"GET / body is {body!r}")

    ns = []
    for _ in range(2):
        status, headers, head, body = c.ask("/json")
        if show and not ns:
            print(head.decode("latin-1") + "\r\n")
        expect(status == 200, f"GET /json answered {status}, not 200")
        expect(media_type(headers) == "application/json",
               f"GET /json has Content-Type {headers.get('content-type')!r}, "
               "not application/json")
        try:
            obj = json.loads(body)
        except ValueError:
            raise Wrong(f"GET /json body is not JSON: {body!r}")
        expect(isinstance(obj, dict) and obj.get("message") == "Hello, world!",
               f"GET /json body has no \"message\":\"Hello, world!\": {body!r}")
        n = obj.get("n")
        expect(isinstance(n, int) and not isinstance(n, bool),
               f"GET /json body has no integer \"n\": {body!r}")
        ns.append(n)
    expect(ns[1] > ns[0], f"GET /json \"n\" did not grow between requests: {ns}")

    status, headers, head, body = c.ask("/nope")
    if show:
        print(head.decode("latin-1") + "\r\n")
    expect(status == 404, f"GET /nope answered {status}, not 404")
    expect(body == b"not found\n", f"GET /nope body is {body!r}")
    c.close()

    c = Conn(port)
    status, headers, head, body = c.ask("/", b"Connection: close\r\n")
    expect(status == 200 and body == b"Hello, world!\n",
           "GET / with Connection: close got a wrong answer")
    expect(c.closed_by_server(),
           f"the server kept the connection open {TIMEOUT:g} s after answering "
           "a request with Connection: close")
    c.close()


def main():
    args = sys.argv[1:]
    show = "--show" in args
    args = [a for a in args if a != "--show"]
    if len(args) != 1 or not args[0].isdigit():
        sys.exit("usage: check.py PORT [--show]")
    try:
        check(int(args[0]), show)
    except Wrong as e:
        print(e)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
