#!/usr/bin/env node
// The baseline upstream of the lookup benchmark: a bare Express 5 app with a single route,
// `GET /api/v1/products/lookup`, answering a fixed product (the JSON of a real lookup, passed in
// BENCH_PRODUCT_JSON, so both measurements move the same bytes). No middleware, no token check,
// no I/O: it is the ceiling the real inventory-service is compared with, behind the same gateway.
import express from 'express';

const port = Number(process.env.PORT ?? 0);
const product = JSON.parse(process.env.BENCH_PRODUCT_JSON ?? '{"id":"00000000-0000-0000-0000-000000000000","sku":"SKU-1","name":"Product 1","barcodes":["0000000000001"],"price":{"amount":499,"currency":"USD"},"taxRateBps":825}');

const app = express();
app.disable('x-powered-by');
app.get('/api/v1/products/lookup', (_req, res) => {
  res.json(product);
});
app.get('/health', (_req, res) => {
  res.json({ status: 'ok', service: 'bench-bare-upstream' });
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
