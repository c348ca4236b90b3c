import { randomUUID } from 'node:crypto';
import { EventDataSchemas, EventEnvelopeSchema, type EventEnvelope, type z } from '@pos/types';
import { currentContext } from '@pos/utils';
import type { Queryable } from '@pos/database';
import { InvalidEventError } from './errors';
import { qualify } from './stream-names';

type KnownEventData = { [K in keyof typeof EventDataSchemas]: z.input<(typeof EventDataSchemas)[K]> };

/** The data shape of a known event type; any object for types without a schema yet. */
export type EventData<T extends string> = T extends keyof KnownEventData ? KnownEventData[T] : Record<string, unknown>;

export interface WriteEventOptions<T extends string> {
  /** The producing service's schema, where its outbox table lives. */
  schema: string;
  type: T;
  tenantId: string;
  data: EventData<T>;
  /** Defaults to the request id of the current request context. */
  requestId?: string | null;
  /** Who acted and from where; default to the current request context (set them when writing outside it). */
  actor?: { id: string | null; role: string | null; ip?: string | null; userAgent?: string | null };
}

export function dataSchemaFor(type: string): z.ZodType | undefined {
  return Object.hasOwn(EventDataSchemas, type) ? (EventDataSchemas as Record<string, z.ZodType>)[type] : undefined;
}

/**
 * Adds an event to the outbox through the caller's client, so the event commits or rolls back together
 * with the business change it describes; the relay publishes it later.
 */
export async function writeEvent<T extends string>(client: Queryable, options: WriteEventOptions<T>): Promise<EventEnvelope<EventData<T>>> {
  const { schema, type, tenantId, requestId = currentContext()?.requestId ?? null } = options;
  const table = qualify(schema, 'outbox');
  let data = options.data as Record<string, unknown>;
  const dataSchema = dataSchemaFor(type);
  if (dataSchema) {
    const parsed = dataSchema.safeParse(data);
    if (!parsed.success) throw new InvalidEventError(`data of ${type} event does not match its schema`, parsed.error.issues);
    // Store what the schema accepted, so consumers only ever see contract fields.
    data = parsed.data as Record<string, unknown>;
  }
  const ctx = currentContext();
  const actor = options.actor ?? { id: ctx?.userId ?? null, role: ctx?.role ?? null, ip: ctx?.ip ?? null, userAgent: ctx?.userAgent ?? null };
  const envelope = {
    id: randomUUID(),
    type,
    version: 1,
    tenantId,
    occurredAt: new Date().toISOString(),
    requestId,
    actorId: actor.id,
    actorRole: actor.role,
    ip: actor.ip ?? null,
    userAgent: actor.userAgent ?? null,
    data,
  };
  const checked = EventEnvelopeSchema.safeParse(envelope);
  if (!checked.success) throw new InvalidEventError(`invalid ${type} event envelope`, checked.error.issues);

  await client.query(`INSERT INTO ${table} (id, tenant_id, type, envelope) VALUES ($1, $2, $3, $4)`, [
    envelope.id,
    tenantId,
    type,
    JSON.stringify(envelope),
  ]);
  // The request's write is now audited through this event (see recordRequestAudits in @pos/http).
  if (ctx && !options.actor) ctx.eventsWritten = (ctx.eventsWritten ?? 0) + 1;
  return envelope as unknown as EventEnvelope<EventData<T>>;
}
