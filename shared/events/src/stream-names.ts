/** Redis key names shared by producers, relays and consumers (POS-DESIGN §11 "Events"). */
export const DEFAULT_STREAM_PREFIX = 'pos';

/** One stream per producing service, e.g. `pos:events:transaction-service`. */
export function eventStream(producer: string, prefix = DEFAULT_STREAM_PREFIX): string {
  return `${prefix}:events:${producer}`;
}

export function dlqStream(stream: string): string {
  return `${stream}:dlq`;
}

/** Pub/Sub channel for live listeners of one tenant, where loss is harmless. */
export function liveChannel(tenantId: string, prefix = DEFAULT_STREAM_PREFIX): string {
  return `${prefix}:live:${tenantId}`;
}

/** Hash of handler-failure counts per message id, per consumer group. */
export function failuresKey(stream: string, group: string): string {
  return `${stream}:failures:${group}`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Schema names are interpolated into SQL, so only plain lower-case identifiers are accepted. */
export function qualify(schema: string, table: string): string {
  if (!IDENTIFIER.test(schema)) throw new TypeError(`invalid schema name: ${JSON.stringify(schema)}`);
  return `${schema}.${table}`;
}

/**
 * SUBSCRIBE on a connection that is still in ioredis' ready check is silently dropped when the
 * check completes; wait until the connection is ready first.
 */
export async function subscribeWhenReady(subscriber: { status: string; once(event: 'ready', cb: () => void): unknown; subscribe(...channels: string[]): Promise<unknown> }, ...channels: string[]): Promise<void> {
  if (subscriber.status !== 'ready') await new Promise<void>((resolve) => subscriber.once('ready', () => resolve()));
  await subscriber.subscribe(...channels);
}
