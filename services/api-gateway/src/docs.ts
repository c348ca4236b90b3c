import type { Express, RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import { sendProblem } from '@pos/http';
import { ProblemError } from '@pos/utils';
import type { GatewayConfig } from './config';
import { UPSTREAM_NAMES, upstreamUrl, type UpstreamName } from './routes';

export interface ApiDocsOptions {
  config: GatewayConfig;
  fetchImpl: typeof fetch;
  /** Applied to the spec fetches, which cost an upstream request each. */
  limiter: RequestHandler;
  timeoutMs?: number;
}

export const specPath = (service: UpstreamName) => `/api-docs/specs/${service}.json`;

// Helmet's default policy adds `upgrade-insecure-requests`, which breaks the UI's assets on plain
// http (local runs, port-forwards). Swagger UI's scripts are files; only its styles are inline.
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Swagger UI at /api-docs over every service's OpenAPI document. The gateway serves each document
 * at /api-docs/specs/<service>.json by fetching the service's /openapi.json, so the browser talks
 * only to the gateway; the documents' paths are the gateway's paths, so "Try it out" works here.
 */
export function mountApiDocs(app: Express, options: ApiDocsOptions): void {
  const { config, fetchImpl, limiter, timeoutMs = 2_000 } = options;

  app.get('/api-docs/specs/:file', limiter, async (req, res) => {
    const service = UPSTREAM_NAMES.find((name) => req.params.file === `${name}.json`);
    if (!service) return sendProblem(res, new ProblemError(404, 'spec_not_found', 'Not Found', `No OpenAPI document named ${String(req.params.file)}`));
    try {
      const upstream = await fetchImpl(`${upstreamUrl(config, service)}/openapi.json`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      if (!upstream.ok) throw new Error(`http ${upstream.status}`);
      const doc: unknown = await upstream.json();
      res.set('Cache-Control', 'no-cache').json(doc);
    } catch {
      sendProblem(res, new ProblemError(503, 'service_unavailable', 'Service Unavailable', `The API document of ${service} is not available right now`, undefined, undefined, { service }));
    }
  });

  const uiOptions = {
    explorer: true,
    customSiteTitle: 'Cloud POS API',
    swaggerOptions: {
      urls: UPSTREAM_NAMES.map((name) => ({ url: specPath(name), name })),
      // The default validator badge calls an external service.
      validatorUrl: null,
      persistAuthorization: false,
    },
  };
  const relaxCsp: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    next();
  };
  // serveFiles (not the shared `serve`) keeps these options with this app instead of module state.
  app.use('/api-docs', relaxCsp, ...swaggerUi.serveFiles(undefined, uiOptions), swaggerUi.setup(undefined, uiOptions));
}
