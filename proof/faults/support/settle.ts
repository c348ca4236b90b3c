// "The system has settled": no sale is still running (the recovery sweep finished or compensated
// every interrupted one), every outbox row is published, every consumer group has read and acked
// everything on every stream, and no email is waiting to be sent. Polled, bounded.
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { sleep } from './children';

export interface Backlog {
  unfinishedSales: number;
  unpublishedOutbox: number;
  /** Stream entries not yet read or not yet acked, summed over every (stream, group). */
  consumerBacklog: number;
  deadLetters: number;
  unsentEmails: number;
}

const SCHEMAS = ['auth', 'inventory', 'sales', 'payments', 'customers', 'notifications'];

export async function backlog(db: pg.Pool, redis: Redis): Promise<Backlog> {
  const one = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  const unfinishedSales = await one("SELECT count(*) AS n FROM sales.sales WHERE status IN ('pending', 'reserved')");
  const unpublishedOutbox = await one(`SELECT sum(n) AS n FROM (${SCHEMAS.map((s) => `SELECT count(*) AS n FROM ${s}.outbox WHERE published_at IS NULL`).join(' UNION ALL ')}) t`);
  const unsentEmails = await one("SELECT count(*) AS n FROM notifications.deliveries WHERE status IN ('queued', 'sending')");
  let consumerBacklog = 0;
  let deadLetters = 0;
  const streams = (await redis.keys('pos:events:*')).filter((k) => !k.includes(':failures:'));
  for (const stream of streams) {
    if ((await redis.type(stream)) !== 'stream') continue;
    if (stream.endsWith(':dlq')) {
      deadLetters += await redis.xlen(stream);
      continue;
    }
    const info = (await redis.call('XINFO', 'STREAM', stream)) as unknown[];
    const last = String(info[info.indexOf('last-generated-id') + 1]);
    const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
    for (const g of groups) {
      const field = (name: string) => g[g.indexOf(name) + 1];
      const pending = Number(field('pending'));
      const lastDelivered = String(field('last-delivered-id'));
      consumerBacklog += pending + (lastDelivered === last ? 0 : Number(field('lag') ?? 1) || 1);
    }
  }
  return { unfinishedSales, unpublishedOutbox, consumerBacklog, deadLetters, unsentEmails };
}

/** Waits until nothing is left to do (dead letters are reported, not waited for). */
export async function settle(db: pg.Pool, redis: Redis, timeoutMs: number): Promise<{ settled: boolean; ms: number; last: Backlog }> {
  const started = Date.now();
  let last: Backlog;
  for (;;) {
    last = await backlog(db, redis);
    const done = last.unfinishedSales === 0 && last.unpublishedOutbox === 0 && last.consumerBacklog === 0 && last.unsentEmails === 0;
    if (done || Date.now() - started > timeoutMs) return { settled: done, ms: Date.now() - started, last };
    await sleep(500);
  }
}
