import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Redis } from 'ioredis';
import { sendProblem } from '@pos/http';
import { tooManyRequests, type Logger } from '@pos/utils';
import type { GatewayConfig } from './config';
import { isLoginRoute } from './routes';

export interface RateLimiters {
  /** Every proxied request, keyed by client IP; runs before the token check. */
  perIp: RequestHandler;
  /** Login, PIN login, client-credentials token, password reset: the much lower per-IP limit. */
  login: RequestHandler;
  /** Every authenticated request, keyed by tenant and user. */
  perUser: RequestHandler;
}

export interface RateLimitOptions {
  redis: Redis;
  config: GatewayConfig;
  logger: Logger;
  /** Redis key prefix; replicas of one deployment must share it so that they share the counts. */
  prefix: string;
}

const clientIp = (req: Request) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');

/**
 * The limits live in Redis (rate-limit-redis) so that all gateway replicas count together
 * (POS-DESIGN §10). If Redis is unreachable requests pass rather than fail: a Redis outage must not
 * stop the registers, and auth-service still locks accounts after repeated failed logins.
 */
export function createRateLimiters({ redis, config, logger, prefix }: RateLimitOptions): RateLimiters {
  const windowMs = config.RATE_LIMIT_WINDOW_SECONDS * 1000;

  // One store per limiter: a separate key space each, and express-rate-limit refuses a shared store.
  const store = (name: string) => {
    const s = new RedisStore({
      prefix: `${prefix}${name}:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    });
    // The store loads its Lua scripts at construction; when Redis is down then, the rejection is
    // retried on first use, so it must not surface as an unhandled rejection (which exits Node).
    s.incrementScriptSha.catch(() => undefined);
    s.getScriptSha.catch(() => undefined);
    return s;
  };

  const limiter = (name: string, limit: number, detail: string, keyGenerator: (req: Request) => string, skip?: (req: Request) => boolean) =>
    rateLimit({
      windowMs,
      limit,
      identifier: name,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: store(name),
      keyGenerator,
      ...(skip ? { skip } : {}),
      passOnStoreError: true,
      logger: {
        error: (err: unknown, message?: string) => logger.warn(message ?? 'rate limiter error', { limiter: name, err: String(err) }),
        warn: (err: unknown, message?: string) => logger.warn(message ?? 'rate limiter warning', { limiter: name, err: String(err) }),
      },
      handler: (req, res) => {
        const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
        const resetMs = info?.resetTime ? info.resetTime.getTime() - Date.now() : windowMs;
        sendProblem(res, tooManyRequests(detail, Math.max(1, Math.ceil(resetMs / 1000))));
      },
    });

  return {
    perIp: limiter('ip', config.RATE_LIMIT_PER_IP, 'Too many requests from this address; slow down and retry later', clientIp),
    login: limiter(
      'login',
      config.RATE_LIMIT_LOGIN_PER_IP,
      'Too many sign-in attempts from this address; wait before trying again',
      clientIp,
      (req) => !isLoginRoute(req.method, req.path),
    ),
    perUser: limiter(
      'user',
      config.RATE_LIMIT_PER_USER,
      'Too many requests for this user; slow down and retry later',
      (req) => `${req.auth?.tenantId}:${req.auth?.userId}`,
      (req) => !req.auth,
    ),
  };
}
