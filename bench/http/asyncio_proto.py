"""The bench/http server as a hand-written asyncio.Protocol.

    python3 bench/http/asyncio_proto.py PORT

No framework: the protocol keeps a byte buffer per connection, cuts it at
each blank line, reads the request line and the two headers it cares about
(Connection, Content-Length), and answers from prebuilt bytes. It is the
most a plain-Python asyncio server can be expected to do, the "ceiling" for
Python in this benchmark. Standard library only, the default event loop.

GET / answers "Hello, world!\\n" as text/plain, GET /json a small JSON object
built per request, anything else 404 "not found\\n". Every answer carries
Content-Length. See bench/http/README.md.
"""

import asyncio
import json
import sys

HELLO = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 14\r\n"
    b"\r\n"
    b"Hello, world!\n"
)
NOT_FOUND_HEAD = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
NOT_FOUND_BODY = b"not found\n"
BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 12\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"bad request\n"
)
CLOSE = b"Connection: close\r\n"
MAX_HEAD = 64 * 1024  # a request head longer than this is refused

served = 0


def answer(method, target, close):
    """The whole response to one request, as bytes."""
    global served
    served += 1
    if method == b"GET" and target == b"/":
        if not close:
            return HELLO
        head, _, body = HELLO.partition(b"\r\n\r\n")
        return head + b"\r\n" + CLOSE + b"\r\n" + body
    if method == b"GET" and target == b"/json":
        body = json.dumps(
            {"message": "Hello, world!", "n": served}, separators=(",", ":")
        ).encode()
        return b"".join(
            (
                b"HTTP/1.1 200 OK\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: ",
                str(len(body)).encode(),
                b"\r\n",
                CLOSE if close else b"",
                b"\r\n",
                body,
            )
        )
    return NOT_FOUND_HEAD + (CLOSE if close else b"") + b"\r\n" + NOT_FOUND_BODY


class HttpProtocol(asyncio.Protocol):
    __slots__ = ("transport", "buffer", "body_left")

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""
        self.body_left = 0  # bytes of a request body still to skip

    def data_received(self, data):
        buf = self.buffer + data if self.buffer else data
        out = []
        closing = False
        while True:
            if self.body_left:
                skip = min(self.body_left, len(buf))
                buf = buf[skip:]
                self.body_left -= skip
                if self.body_left:
                    break
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    out.append(BAD_REQUEST)
                    closing = True
                break
            head = buf[:end]
            buf = buf[end + 4 :]
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                out.append(BAD_REQUEST)
                closing = True
                break
            method, target, version = parts
            # HTTP/1.1 keeps the connection by default, HTTP/1.0 closes it.
            close = version == b"HTTP/1.0"
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"connection":
                    tokens = value.strip().lower()
                    if b"close" in tokens:
                        close = True
                    elif b"keep-alive" in tokens:
                        close = False
                elif name == b"content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        length = -1
            if length < 0:
                out.append(BAD_REQUEST)
                closing = True
                break
            self.body_left = length
            out.append(answer(method, target, close))
            if close:
                closing = True
                break
        self.buffer = b"" if closing else buf
        if out:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        if closing:
            self.transport.close()


async def main(port):
    loop = asyncio.get_running_loop()
    # asyncio sets TCP_NODELAY on every TCP transport it makes.
    server = await loop.create_server(
        HttpProtocol, "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    print(f"listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python3 asyncio_proto.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
