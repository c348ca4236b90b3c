import express, { type Express, type RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import client from 'prom-client';
import type { Logger } from '@pos/utils';
import { errorHandler, notFoundHandler, sendProblem } from './errors';
import { ProblemError } from '@pos/utils';
import { requestId } from './request-id';
import { buildOpenApiDocument, createOpenApiRegistry, type OpenAPIRegistry } from './openapi';
import { RouteTable } from './routes';
import type { TokenVerifier } from './auth';
import { refuseCardData, refuseUnsafeText, type CardDataGuardOptions } from './input-guards';
import { recordRequestAudits, type RequestAuditSink } from './request-audit';

export interface ServiceAppOptions {
  name: string;
  version?: string;
  logger: Logger;
  /** Origins allowed by CORS; empty means no cross-origin browser access. */
  corsOrigins: string[];
  /** JSON body limit, e.g. '1mb'. */
  bodyLimit?: string;
  /** Checks for /ready: throw to report the dependency as down. */
  readinessChecks?: Record<string, () => Promise<unknown>>;
  verifier?: TokenVerifier;
  /** Mount routes: declare them on the table, or add plain routers to the app. */
  routes: (ctx: { app: Express; table: RouteTable; registry: OpenAPIRegistry; metrics: client.Registry }) => void;
  /** Parse urlencoded bodies too (OAuth token endpoints). */
  urlencoded?: boolean;
  /** Skip the JSON parser (the gateway streams bodies through untouched). */
  rawBody?: boolean;
  /** Paths whose routes parse their own body (e.g. a large import with its own limit). */
  ownBodyPaths?: string[];
  /** Replaces the plain liveness /health (the gateway reports every service there). */
  health?: RequestHandler;
  /** Refuse card numbers in every JSON body (400 card_data_refused) before any route sees it. */
  refuseCardData?: CardDataGuardOptions;
  /** Where the audit records of writes without events, failed writes and 403s go (after the response). */
  auditRequests?: RequestAuditSink;
}

export interface ServiceApp {
  app: Express;
  table: RouteTable;
  metrics: client.Registry;
  /** Flip /ready to 503 while draining on shutdown. */
  setDraining(): void;
}

function httpMetrics(registry: client.Registry): RequestHandler {
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      // The route template keeps label cardinality bounded (ids are never labels).
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}

export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const { name, logger, corsOrigins, bodyLimit = '1mb', readinessChecks = {} } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  app.set('query parser', 'simple');

  const metrics = new client.Registry();
  metrics.setDefaultLabels({ service: name });
  client.collectDefaultMetrics({ register: metrics });
  const registry = createOpenApiRegistry();
  const table = new RouteTable(registry, options.verifier);
  let draining = false;

  app.use(requestId);
  app.use(httpMetrics(metrics));
  if (options.auditRequests) app.use(recordRequestAudits(options.auditRequests, logger));
  app.use(helmet());
  app.use(
    cors({
      origin: (origin, cb) => cb(null, !origin || corsOrigins.includes(origin) ? origin ?? false : false),
      credentials: false,
      exposedHeaders: ['x-request-id', 'Idempotent-Replayed', 'Retry-After'],
    }),
  );
  if (!options.rawBody) {
    const ownBody = new Set(options.ownBodyPaths ?? []);
    const json = express.json({ limit: bodyLimit, strict: true, type: ['application/json', 'application/*+json'] });
    app.use((req, res, next) => (ownBody.has(req.path) ? next() : json(req, res, next)));
    if (options.urlencoded) app.use(express.urlencoded({ extended: false, limit: '16kb' }));
    app.use(refuseUnsafeText);
    if (options.refuseCardData) app.use(refuseCardData({ logger, ...options.refuseCardData }));
  }

  app.get(
    '/health',
    options.health ??
      ((_req, res) => {
        res.json({ status: 'ok', service: name, uptimeSeconds: Math.round(process.uptime()) });
      }),
  );
  app.get('/ready', async (_req, res) => {
    if (draining) return sendProblem(res, new ProblemError(503, 'draining', 'Service Unavailable', `${name} is shutting down`));
    const checks: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(readinessChecks).map(async ([dep, check]) => {
        try {
          await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
          checks[dep] = 'up';
        } catch {
          ok = false;
          checks[dep] = 'down';
        }
      }),
    );
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', service: name, checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });

  options.routes({ app, table, registry, metrics });
  app.use(table.router);

  let openApiCache: unknown;
  app.get('/openapi.json', (_req, res) => {
    openApiCache ??= buildOpenApiDocument(registry, { title: name, version: options.version ?? '0.1.0' });
    res.json(openApiCache);
  });

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return { app, table, metrics, setDraining: () => void (draining = true) };
}
