import type { Redis } from 'ioredis';
import { subscribeWhenReady } from '@pos/events';
import type { Logger } from '@pos/utils';
import type { ProductView } from './data/product-repository';

export const INVALIDATION_CHANNEL = 'pos:cache:inventory';

type LookupKind = 'barcode' | 'sku';

/**
 * The register's hot path: product by barcode or SKU from Redis (shared by all replicas), with an
 * optional in-process layer that lives at most a few seconds. A change deletes the Redis keys right
 * after its commit and publishes them, so every replica drops its local copy too (POS-DESIGN §11).
 */
export class LookupCache {
  private readonly local = new Map<string, { value: ProductView; expiresAt: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly options: { ttlSeconds: number; localTtlMs: number; logger: Logger; maxLocalEntries?: number },
  ) {}

  static key(tenantId: string, kind: LookupKind, value: string): string {
    return `pos:inventory:lookup:${tenantId}:${kind}:${value}`;
  }

  /** Subscribes a dedicated connection to invalidations from other replicas. */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        for (const key of JSON.parse(message) as string[]) this.local.delete(key);
      } catch {
        this.local.clear();
      }
    });
    await subscribeWhenReady(subscriber, INVALIDATION_CHANNEL);
  }

  async get(tenantId: string, kind: LookupKind, value: string, load: () => Promise<ProductView | undefined>): Promise<ProductView | undefined> {
    const key = LookupCache.key(tenantId, kind, value);
    const now = Date.now();
    const hit = this.local.get(key);
    if (hit && hit.expiresAt > now) return hit.value;

    let cached: string | null = null;
    try {
      cached = await this.redis.get(key);
    } catch (err) {
      // Redis down: the lookup still works from Postgres, just slower.
      this.options.logger.warn('lookup cache unavailable', { err: (err as Error).message });
    }
    if (cached) {
      const value = JSON.parse(cached) as ProductView;
      this.remember(key, value, now);
      return value;
    }
    const loaded = await load();
    if (loaded) {
      this.redis.set(key, JSON.stringify(loaded), 'EX', this.options.ttlSeconds).catch(() => undefined);
      this.remember(key, loaded, now);
    }
    return loaded;
  }

  private remember(key: string, value: ProductView, now: number): void {
    if (this.options.localTtlMs <= 0) return;
    if (this.local.size >= (this.options.maxLocalEntries ?? 10_000)) this.local.clear();
    this.local.set(key, { value, expiresAt: now + this.options.localTtlMs });
  }

  /** Call after the commit of any change to these products (old and new barcodes/SKUs). */
  async invalidate(tenantId: string, products: ReadonlyArray<{ sku: string; barcodes: readonly string[] }>): Promise<void> {
    const keys = [
      ...new Set(products.flatMap((p) => [LookupCache.key(tenantId, 'sku', p.sku), ...p.barcodes.map((b) => LookupCache.key(tenantId, 'barcode', b))])),
    ];
    if (!keys.length) return;
    for (const key of keys) this.local.delete(key);
    try {
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        await this.redis.multi().del(...chunk).publish(INVALIDATION_CHANNEL, JSON.stringify(chunk)).exec();
      }
    } catch (err) {
      // The TTL bounds staleness if Redis is unreachable right now.
      this.options.logger.error('lookup cache invalidation failed', { err: (err as Error).message, keys: keys.length });
    }
  }
}
