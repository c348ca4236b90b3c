import { randomBytes } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { authenticate, canActInStore, sendProblem, type AuthContext, type TokenVerifier } from '@pos/http';
import { subscribeWhenReady } from '@pos/events';
import { ProblemError, forbidden, type Logger } from '@pos/utils';

const LIVE_ROLES = new Set(['owner', 'manager']);
const LIVE_EVENTS = new Set(['sale.completed', 'sale.refunded', 'sale.voided']);
const TICKET_TTL_SECONDS = 60;

interface Listener {
  auth: AuthContext;
  res: Response;
}

export interface LiveFeedOptions {
  redis: Redis;
  /** A dedicated connection: a subscribed Redis connection can do nothing else. */
  subscriber: Redis;
  verifier: TokenVerifier;
  logger: Logger;
  channelPrefix?: string;
  heartbeatMs?: number;
}

/**
 * Live sales as Server-Sent Events (POS-DESIGN §6, §11): the outbox relays PUBLISH every event on
 * `pos:live:<tenantId>`; each gateway replica subscribes once per tenant that has listeners and
 * fans events out to that tenant's managers and owners, filtered to the stores they act in. Loss is
 * harmless here (a dashboard); events that must arrive travel on the streams.
 * Browsers' EventSource cannot send headers, so it can use a one-use ticket from
 * `POST /api/v1/live/tickets` instead of the Authorization header.
 */
export function mountLiveFeed(app: Express, options: LiveFeedOptions): { close(): void } {
  const { redis, subscriber, verifier, logger } = options;
  const prefix = options.channelPrefix ?? 'pos:live:';
  const listeners = new Map<string, Set<Listener>>();

  subscriber.on('message', (channel: string, message: string) => {
    const tenantId = channel.slice(prefix.length);
    const group = listeners.get(tenantId);
    if (!group?.size) return;
    let event: { type?: string; tenantId?: string; data?: { storeId?: string; sale?: { storeId?: string } } };
    try {
      event = JSON.parse(message);
    } catch {
      return;
    }
    if (!event.type || !LIVE_EVENTS.has(event.type) || event.tenantId !== tenantId) return;
    const storeId = event.data?.storeId ?? event.data?.sale?.storeId;
    // The cashier's address and browser are for the audit trail, not for every screen watching sales.
    const { ip: _ip, userAgent: _userAgent, ...shown } = event as Record<string, unknown>;
    const data = JSON.stringify(shown);
    for (const l of group) {
      if (storeId && !canActInStore(l.auth, storeId)) continue;
      l.res.write(`event: ${event.type}\ndata: ${data}\n\n`);
    }
  });

  const ticketKey = (ticket: string) => `pos:live:ticket:${ticket}`;

  const requireLiveRole = (auth: AuthContext | undefined) => {
    if (!auth || !LIVE_ROLES.has(auth.role)) throw forbidden('Live sales are for managers and owners');
    return auth;
  };

  app.post('/api/v1/live/tickets', authenticate(verifier), (req: Request, res: Response, next) => {
    Promise.resolve()
      .then(async () => {
        const auth = requireLiveRole(req.auth);
        const ticket = randomBytes(24).toString('base64url');
        await redis.set(ticketKey(ticket), JSON.stringify({ ...auth, token: '' }), 'EX', TICKET_TTL_SECONDS);
        res.status(201).json({ ticket, expiresIn: TICKET_TTL_SECONDS });
      })
      .catch(next);
  });

  app.get('/api/v1/live/sales', (req: Request, res: Response, next) => {
    Promise.resolve()
      .then(async () => {
        let auth: AuthContext | undefined;
        const ticket = typeof req.query.ticket === 'string' ? req.query.ticket : undefined;
        if (ticket) {
          // GETDEL makes the ticket single-use across every replica.
          const stored = await redis.getdel(ticketKey(ticket));
          if (!stored) throw new ProblemError(401, 'invalid_ticket', 'Unauthorized', 'The live ticket is unknown, used or expired');
          auth = JSON.parse(stored) as AuthContext;
        } else {
          await new Promise<void>((resolve, reject) => authenticate(verifier)(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
          auth = req.auth;
        }
        return requireLiveRole(auth);
      })
      .then(async (auth) => {
        const listener: Listener = { auth, res };
        let group = listeners.get(auth.tenantId);
        if (!group) {
          group = new Set();
          listeners.set(auth.tenantId, group);
          await subscribeWhenReady(subscriber, `${prefix}${auth.tenantId}`);
        }
        group.add(listener);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.write(`: connected\nretry: 3000\n\n`);
        const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
        // res, not req: a GET request's 'close' fires as soon as its (empty) body has been read.
        res.on('close', () => {
          clearInterval(heartbeat);
          group.delete(listener);
          if (!group.size) {
            listeners.delete(auth.tenantId);
            subscriber.unsubscribe(`${prefix}${auth.tenantId}`).catch((err: Error) => logger.warn('live unsubscribe failed', { err: err.message }));
          }
        });
      })
      .catch((err: unknown) => (res.headersSent ? res.end() : err instanceof ProblemError ? sendProblem(res, err) : next(err)));
  });

  return {
    close: () => {
      for (const group of listeners.values()) for (const l of group) l.res.end();
      listeners.clear();
    },
  };
}
