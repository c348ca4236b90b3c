import { createHash, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from '@pos/utils';
import { createGatewayApp, type GatewayApp, type GatewayDeps } from '../src/app';
import { loadGatewayConfig } from '../src/config';
import { UPSTREAMS, UPSTREAM_NAMES, type UpstreamName } from '../src/routes';
import { TEST_ISSUER } from '../../../scripts/test/test-keys';
import { refusedPort } from '../../../scripts/test/ports';

/** What a fake service saw: enough to prove the gateway forwarded the request untouched. */
export interface Echo {
  service: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyLength: number;
  bodySha256: string;
  bodyText: string;
}

export interface FakeUpstream {
  name: string;
  url: string;
  /** Every request that arrived (including ones whose body was cut off). */
  arrived: number;
  /** Requests that were read to the end and answered with an echo. */
  echoes: Echo[];
  /** Make /health answer 503. */
  healthy: boolean;
  close(): Promise<void>;
}

const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

/**
 * A stand-in for a service: answers /health and /openapi.json, and echoes any other request
 * (method, URL, headers, raw body hash). `x-test-delay-ms` delays the answer; `x-test-cors` makes it
 * send its own CORS header (which the gateway must drop).
 */
export async function startUpstream(name: string): Promise<FakeUpstream> {
  const upstream = { arrived: 0, echoes: [] as Echo[], healthy: true };
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return sendJson(res, upstream.healthy ? 200 : 503, { status: upstream.healthy ? 'ok' : 'down', service: name });
    if (req.url === '/openapi.json') return sendJson(res, 200, { openapi: '3.1.0', info: { title: name, version: '0.1.0' }, paths: {} });
    upstream.arrived += 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const echo: Echo = {
        service: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
        bodyText: body.length <= 4096 ? body.toString('utf8') : '',
      };
      upstream.echoes.push(echo);
      const extra = req.headers['x-test-cors'] ? { 'access-control-allow-origin': '*' } : {};
      const delay = Number(req.headers['x-test-delay-ms'] ?? 0);
      setTimeout(() => !res.destroyed && sendJson(res, 200, echo, extra), delay).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(upstream, {
    name,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A local address where nothing listens: connections are refused at once, like a stopped service. */
export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await refusedPort()}`;
}

/**
 * An address that takes no new connections and refuses none, like a node that vanished: a child
 * process listens with a backlog of 1 and then blocks its event loop, so nothing is ever accepted;
 * once the kernel's accept queue is filled, further connection attempts hang (Linux).
 */
export async function startBlackhole(): Promise<{ url: string; close(): void }> {
  const script = `const s = require('node:net').createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(s.address().port + '\\n', () => { for (;;) {} });
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    child.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  // Fill the accept queue: connect until an attempt no longer completes.
  for (let i = 0; i < 8; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}

export function silentLogger(lines: Array<{ level: string; message: string; meta?: unknown }> = []): Logger {
  const log = (level: string) => (message: string, meta?: unknown) => void lines.push({ level, message, meta });
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), http: log('http') } as unknown as Logger;
}

export function testRedis(): Redis {
  return new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
}

export interface GatewayOptions {
  redis: Redis;
  /** Base URLs per service; services left out point at a port where nothing listens. */
  upstreams?: Partial<Record<UpstreamName, string>>;
  jwksUrl?: string;
  /** Extra environment variables (limits, timeouts, CORS). */
  env?: Record<string, string>;
  /** Shared by two gateways to prove they share counts; unique per test otherwise. */
  rateLimitPrefix?: string;
  deps?: Partial<GatewayDeps>;
}

export async function buildGateway(options: GatewayOptions): Promise<GatewayApp> {
  const down = await closedPortUrl();
  const urls: Record<string, string> = {};
  for (const name of UPSTREAM_NAMES) urls[UPSTREAMS[name]] = options.upstreams?.[name] ?? down;
  const config = loadGatewayConfig({
    NODE_ENV: 'test',
    REDIS_URL: process.env.REDIS_URL,
    JWT_ISSUER: TEST_ISSUER,
    JWKS_URL: options.jwksUrl ?? `${down}/.well-known/jwks.json`,
    ...urls,
    ...options.env,
  });
  return createGatewayApp({
    config,
    logger: silentLogger(),
    redis: options.redis,
    rateLimitPrefix: options.rateLimitPrefix ?? `test:gw:${randomUUID()}:`,
    ...options.deps,
  });
}

/** A fresh client address (documentation range) per call, so tests on one gateway never share a per-IP count. */
let ipCounter = 0;
export function uniqueClientIp(): string {
  ipCounter += 1;
  return `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}
