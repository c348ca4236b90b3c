import http from 'node:http';
import https from 'node:https';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { sendProblem } from '@pos/http';
import { ProblemError, type Logger } from '@pos/utils';
import type { UpstreamName } from './routes';

export interface UpstreamProxyOptions {
  service: UpstreamName;
  /** Base URL of the service; request paths are appended unchanged. */
  target: string;
  /** Time to the upstream's response headers before the gateway answers 504. */
  timeoutMs: number;
  /** Time to open a new connection before the service counts as down (503). */
  connectTimeoutMs: number;
  /** Bytes of request body forwarded at most; beyond that the request ends with 413. */
  maxBodyBytes: BodyLimit;
  logger: Logger;
}

export interface UpstreamProxy {
  handler: RequestHandler;
  /** Drops the pooled keep-alive connections (shutdown, tests). */
  close(): void;
}

/** Errors that mean "nobody answered on that address": the service is down or restarting. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

/** The largest body accepted for a request path. */
export type BodyLimit = (path: string) => number;

export const payloadTooLarge = (maxBodyBytes: number) =>
  new ProblemError(413, 'payload_too_large', 'Content Too Large', `The request body is larger than ${maxBodyBytes} bytes`);

const unavailable = (service: UpstreamName) =>
  new ProblemError(503, 'service_unavailable', 'Service Unavailable', `${service} is not reachable; try again shortly`, undefined, { 'Retry-After': '1' }, { service });

const timedOut = (service: UpstreamName, ms: number) =>
  new ProblemError(504, 'upstream_timeout', 'Gateway Timeout', `${service} did not answer within ${ms} ms; the outcome of the request is unknown`, undefined, undefined, {
    service,
  });

const badGateway = (service: UpstreamName) =>
  new ProblemError(502, 'bad_gateway', 'Bad Gateway', `${service} sent an answer the gateway could not relay`, undefined, undefined, { service });

/** Refuses a declared Content-Length above the limit before anything is read or forwarded. */
export function declaredBodyLimit(maxBodyBytes: BodyLimit): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const limit = maxBodyBytes(req.path);
    if (declared > limit) return sendProblem(res, payloadTooLarge(limit));
    next();
  };
}

interface ExchangeState {
  proxyReq?: http.ClientRequest;
  /** Set once the gateway has decided the outcome itself (timeout, body too large, connect timeout). */
  failure?: ProblemError;
  timers: NodeJS.Timeout[];
}

/**
 * A streaming reverse proxy to one service: the body is piped through untouched (no parser in
 * front), over a keep-alive connection pool, with x-forwarded-* added and every header (including
 * Authorization and x-request-id) passed on. Failures become problem+json: 503 when the service is
 * down, 504 when it is too slow, 413 when a streamed body passes the limit.
 */
export function createUpstreamProxy(options: UpstreamProxyOptions): UpstreamProxy {
  const { service, target, timeoutMs, connectTimeoutMs, maxBodyBytes, logger } = options;
  const agentOptions = {
    keepAlive: true,
    maxSockets: 512,
    maxFreeSockets: 64,
    // Idle pooled sockets are dropped before the services' 65 s keep-alive timeout closes them
    // under us (a reused half-closed socket would fail a request with ECONNRESET).
    timeout: 30_000,
  };
  const agent = target.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const states = new WeakMap<http.IncomingMessage, ExchangeState>();

  const clear = (state: ExchangeState) => {
    for (const timer of state.timers) clearTimeout(timer);
    state.timers = [];
  };

  /** The gateway answers now and abandons the upstream exchange. */
  const fail = (req: http.IncomingMessage, res: http.ServerResponse, state: ExchangeState, problem: ProblemError) => {
    if (state.failure) return;
    state.failure = problem;
    clear(state);
    req.unpipe();
    state.proxyReq?.destroy();
    if (problem.status >= 500) logger.warn('upstream request failed', { service, status: problem.status, code: problem.code, path: (req as Request).path });
    if (!res.headersSent) sendProblem(res as Response, problem);
    else if (!res.writableEnded) res.destroy();
  };

  const proxy = createProxyMiddleware<Request, Response>({
    target,
    agent,
    changeOrigin: true,
    xfwd: true,
    on: {
      start: (req, res) => {
        const state = states.get(req);
        if (!state) return;
        // Registered before http-proxy pipes the request, so every chunk is counted: a body sent
        // without Content-Length (chunked) is held to the same limit while it streams.
        let seen = 0;
        const limit = maxBodyBytes((req as Request).path);
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > limit) fail(req, res, state, payloadTooLarge(limit));
        });
      },
      proxyReq: (proxyReq, req) => {
        const state = states.get(req);
        if (!state) return;
        state.proxyReq = proxyReq;
        if (state.failure) return void proxyReq.destroy();
        const socket = proxyReq.socket;
        if (socket?.connecting) {
          // A refused connection fails at once; an address that swallows packets would hang for the
          // OS connect timeout (minutes), so a service that does not accept quickly counts as down.
          const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), connectTimeoutMs);
          state.timers.push(timer);
          socket.once('connect', () => clearTimeout(timer));
        }
      },
      proxyRes: (proxyRes, req) => {
        const state = states.get(req);
        if (state) clear(state);
        // The gateway is the CORS boundary: its own decision (already on the response) stands.
        for (const name of Object.keys(proxyRes.headers)) {
          if (name.startsWith('access-control-')) delete proxyRes.headers[name];
        }
      },
      error: (err, req, res) => {
        const state = states.get(req);
        if (!state || state.failure) return;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const problem = UNAVAILABLE_CODES.has(code) ? unavailable(service) : badGateway(service);
        if (problem.status === 502) logger.error('proxy error', { service, err: err.message, code });
        fail(req, res as http.ServerResponse, state, problem);
      },
    },
  });

  const handler = (req: Request, res: Response, next: NextFunction) => {
    const state: ExchangeState = { timers: [] };
    states.set(req, state);
    // Counted from the moment the gateway forwards until the upstream's response headers: the
    // outermost timeout of a checkout (POS-DESIGN §11, saga safety).
    state.timers.push(setTimeout(() => fail(req, res, state, timedOut(service, timeoutMs)), timeoutMs));
    res.once('close', () => clear(state));
    void proxy(req, res, next);
  };

  return { handler, close: () => agent.destroy() };
}
