#!/usr/bin/env node
// The baseline upstream of `npm run bench`: a bare Express 5 app answering each GET route under test
// with a fixed body, the JSON of a real answer of that route captured earlier in the same run
// (BENCH_RESPONSES_FILE: {"<path>": "<body>"}), so both measurements move the same bytes. No
// middleware, no token check, no I/O: the ceiling the real services are compared with, behind the
// same gateway.
import { readFileSync } from 'node:fs';
import express from 'express';

const port = Number(process.env.PORT ?? 0);
const responses = new Map(Object.entries(JSON.parse(readFileSync(process.env.BENCH_RESPONSES_FILE, 'utf8'))));

const app = express();
app.disable('x-powered-by');
app.get('/health', (_req, res) => {
  res.json({ status: 'ok', service: 'bench-bare-upstream' });
});
app.use((req, res) => {
  const body = req.method === 'GET' ? responses.get(req.path) : undefined;
  if (body === undefined) res.status(404).json({ status: 404, title: 'Not Found' });
  else res.type('application/json').send(body);
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`bare upstream listening on http://127.0.0.1:${server.address().port}`);
});
// Same keep-alive settings as the services' startServer, so the gateway's pooled sockets behave alike.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
