import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { authenticate, createServiceApp, createTokenVerifier, type ServiceApp, type TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { ApiUsageRecorder } from './api-usage';
import type { GatewayConfig } from './config';
import { mountApiDocs } from './docs';
import { mountLiveFeed } from './live';
import { healthHandler } from './health';
import { createUpstreamProxy, declaredBodyLimit, type UpstreamProxy } from './proxy';
import { createRateLimiters } from './rate-limit';
import { mountRegister } from './register';
import { ROUTES, UPSTREAM_NAMES, bodyLimitFor, isPublicRoute, routePattern, upstreamUrl, type UpstreamName } from './routes';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  /** Holds the rate-limit counters shared by all replicas; also checked by /ready. */
  redis: Redis;
  /** Defaults to the shared verifier over JWKS_URL (ES256 pinned, iss/aud/exp checked). */
  verifier?: TokenVerifier;
  /** Used for /health probes and the OpenAPI documents. */
  fetchImpl?: typeof fetch;
  /** Redis key prefix of the rate limits (tests use their own to stay independent). */
  rateLimitPrefix?: string;
  /** Dedicated Redis connection for the live sales feed (Pub/Sub); without it the feed is off. */
  subscriber?: Redis;
  /** Channel prefix of the live feed (tests use their own). */
  liveChannelPrefix?: string;
  /** Records per user and route call counts and latency into MongoDB `api_usage`; without it nothing is recorded. */
  usage?: Pick<ApiUsageRecorder, 'middleware'>;
}

export interface GatewayApp extends ServiceApp {
  /** Closes the upstream connection pools. */
  close(): void;
  /** Ends the live feed's open streams (on drain: they would otherwise hold the shutdown). */
  closeLive(): void;
}

export function createGatewayApp(deps: GatewayDeps): GatewayApp {
  const { config, logger, redis } = deps;
  const fetchImpl = deps.fetchImpl ?? fetch;
  const verifier = deps.verifier ?? createTokenVerifier({ issuer: config.JWT_ISSUER, jwksUrl: config.JWKS_URL });
  const limits = createRateLimiters({ redis, config, logger, prefix: deps.rateLimitPrefix ?? 'pos:rl:gateway:' });

  const proxies = new Map<UpstreamName, UpstreamProxy>(
    UPSTREAM_NAMES.map((service) => [
      service,
      createUpstreamProxy({
        service,
        target: upstreamUrl(config, service),
        timeoutMs: config.UPSTREAM_TIMEOUT_MS,
        connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        maxBodyBytes: bodyLimitFor(config),
        logger,
      }),
    ]),
  );

  // The token is checked here so that junk never reaches a service; the Authorization header is
  // forwarded untouched and every service verifies it again (POS-DESIGN §4).
  const requireToken = authenticate(verifier);
  const tokenUnlessPublic: RequestHandler = (req, res, next) => (isPublicRoute(req.method, req.path) ? next() : requireToken(req, res, next));
  const bodyLimit = declaredBodyLimit(bodyLimitFor(config));

  let live: { close(): void } | undefined;
  const service = createServiceApp({
    name: 'api-gateway',
    logger,
    corsOrigins: config.CORS_ORIGINS,
    // No body parser: bodies stream through to the services untouched.
    rawBody: true,
    verifier,
    readinessChecks: { redis: () => redis.ping() },
    health: healthHandler({ config, fetchImpl }),
    routes: ({ app }) => {
      mountApiDocs(app, { config, fetchImpl, limiter: limits.perIp });
      if (deps.subscriber) {
        live = mountLiveFeed(app, { redis, subscriber: deps.subscriber, verifier, logger, channelPrefix: deps.liveChannelPrefix });
      }
      // One Express route per table entry, so metrics are labelled by prefix (never by raw path).
      // Order: cheap refusals first (size, per-IP counts) so floods cost no signature checks. The
      // api_usage recorder goes first: it times the whole chain and, once the response is done,
      // records the call if the token check verified a user (labelled by the prefix, never the path).
      for (const route of ROUTES) {
        const chain: RequestHandler[] = [bodyLimit, limits.perIp, limits.login, tokenUnlessPublic, limits.perUser, proxies.get(route.service)!.handler];
        if (deps.usage && route.prefix.startsWith('/api/v1/')) chain.unshift(deps.usage.middleware(route.prefix));
        app.all(routePattern(route), ...chain);
      }
      // The web register at `/` (static build + single-page fallback), after every API route so
      // that nothing under /api can ever be answered with its HTML.
      mountRegister(app, { distDir: config.REGISTER_DIST_DIR, logger });
    },
  });

  return {
    ...service,
    closeLive: () => live?.close(),
    close: () => {
      live?.close();
      for (const proxy of proxies.values()) proxy.close();
    },
  };
}
