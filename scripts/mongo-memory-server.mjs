#!/usr/bin/env node
// The zero-setup MongoDB stand-in (POS-DESIGN §7): a pure-JS, wire-compatible server from
// @push.rocks/smartmongo 2.2.0, in memory (its file storage writes Dates back as strings).
// It is an ES module and the project is CommonJS, so it always runs as this child process
// (docs/contributing.md "Module system"): `npm start` and the Jest global setup spawn it.
//
// Prints one JSON line on stdout once it listens: {"uri":"mongodb://127.0.0.1:<port>/?directConnection=true","port":<port>,"pid":<pid>}
// Stops on SIGTERM/SIGINT, or when its parent closes stdin (so it never outlives the parent).
// Options: --port <n> (default 0 = any free port), --host <addr> (default 127.0.0.1).
// Data is NOT persisted: stopping it loses everything. Production uses real MongoDB 7 (MONGODB_URI).
import net from 'node:net';

// The library prints debug lines with console.log; stdout is reserved for the one JSON line below.
console.log = (...args) => console.error(...args);
const { congodb } = await import('@push.rocks/smartmongo');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** CongoServer reports the port it was given, so port 0 is resolved to a free port first. */
async function freePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const host = arg('host', '127.0.0.1');
let port = Number(arg('port', '0'));

let server;
for (let attempt = 0; ; attempt++) {
  const p = port || (await freePort(host));
  server = new congodb.CongoServer({ host, port: p, storage: 'memory' });
  try {
    await server.start();
    port = p;
    break;
  } catch (err) {
    // Another process took the probed port in between: try another one (a fixed --port fails at once).
    if (port || attempt >= 5 || err?.code !== 'EADDRINUSE') {
      console.error(`mongo stand-in could not listen on ${host}:${p}: ${err?.message ?? err}`);
      process.exit(1);
    }
  }
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3_000);
  force.unref();
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// With a piped stdin, the parent going away (even by SIGKILL) closes it: stop with it.
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ uri: `mongodb://${host}:${port}/?directConnection=true`, port, pid: process.pid })}\n`);
