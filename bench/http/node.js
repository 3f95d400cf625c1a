// The bench/http server on Node's own `http` module: one process, one event
// loop, no cluster.
//
//   node bench/http/node.js PORT
//
// GET / answers "Hello, world!\n" as text/plain, GET /json a small JSON
// object built per request, anything else 404 "not found\n". Every answer
// carries Content-Length. See bench/http/README.md.
'use strict';

const http = require('http');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node node.js PORT\n');
  process.exit(2);
}

const HELLO = Buffer.from('Hello, world!\n');
const NOT_FOUND = Buffer.from('not found\n');
let served = 0;

function reply(res, status, type, body) {
  // No Date header: the other servers in this benchmark send none either.
  res.sendDate = false;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': body.length,
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  served += 1;
  if (req.method === 'GET' && req.url === '/') {
    reply(res, 200, 'text/plain', HELLO);
  } else if (req.method === 'GET' && req.url === '/json') {
    const body = Buffer.from(JSON.stringify({ message: 'Hello, world!', n: served }));
    reply(res, 200, 'application/json', body);
  } else {
    reply(res, 404, 'text/plain', NOT_FOUND);
  }
});

// A connection stays open until the client closes it or asks for
// `Connection: close`; Node's default would drop it after 5 s idle (and
// announce that in a Keep-Alive header).
server.keepAliveTimeout = 0;

server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  // Writes to a pipe or a file are synchronous in Node on Linux, so the
  // line is out before anything else happens.
  process.stdout.write(`listening on ${port}\n`);
});
