import type { Pool } from '@pos/database';
import { withTenant } from '@pos/database';
import type { Logger } from '@pos/utils';
import type { Checkout } from './checkout';
import type { Refunds } from './refunds';
import { extendLease, findSale } from './data/sale-repository';

const SWEEP_LOCK = 7263002;

/**
 * Finishes or compensates sales whose runner died (crash, kill, deploy) once their lease lapsed.
 * One replica sweeps at a time (advisory lock); each sale is claimed by renewing its lease, so a
 * sale is never recovered twice.
 */
export class RecoverySweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: { workerPool: Pool; pool: Pool; checkout: Checkout; refunds: Refunds; leaseSeconds: number; intervalMs: number; logger: Logger },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.sweepOnce()
        .then(
          () => undefined,
          (err: unknown) => void this.options.logger.error('recovery sweep failed', { err: (err as Error).message }),
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Returns the ids of the sales it recovered. */
  async sweepOnce(): Promise<string[]> {
    const { workerPool, pool, checkout, leaseSeconds, logger } = this.options;
    const client = await workerPool.connect();
    const recovered: string[] = [];
    try {
      const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [SWEEP_LOCK]);
      if (!lock[0]?.ok) return recovered;
      try {
        const { rows } = await client.query<{ tenant_id: string; id: string }>(
          "SELECT tenant_id, id FROM sales.sales WHERE status IN ('pending', 'reserved') AND lease_until < now() ORDER BY lease_until LIMIT 100",
        );
        for (const row of rows) {
          const claimed = await withTenant(pool, row.tenant_id, (db) => extendLease(db, row.tenant_id, row.id, leaseSeconds));
          if (!claimed) continue;
          try {
            const full = (await withTenant(pool, row.tenant_id, (db) => findSale(db, row.tenant_id, row.id)))!;
            const result = await checkout.recover(full);
            recovered.push(row.id);
            logger.info('recovered an interrupted sale', { saleId: row.id, tenantId: row.tenant_id, status: result.sale.status });
          } catch (err) {
            logger.warn('could not recover a sale yet', { saleId: row.id, err: (err as Error).message });
          }
        }
        // Refunds whose money could not be returned at once: finish them with the same keys.
        const pending = await client.query<{ tenant_id: string; id: string }>(
          "SELECT tenant_id, id FROM sales.refunds WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1) LIMIT 100",
          [leaseSeconds],
        );
        for (const row of pending.rows) {
          await this.options.refunds.finish(row.tenant_id, row.id).catch((err: unknown) => logger.warn('could not finish a refund yet', { refundId: row.id, err: (err as Error).message }));
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK]);
      }
    } finally {
      client.release();
    }
    return recovered;
  }
}
