import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export type Channel = 'email' | 'sms' | 'push';
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed';

export type Lookup = { kind: 'customer'; customerId: string } | { kind: 'store_managers'; storeId: string };

export interface DeliveryRow {
  id: string;
  tenant_id: string;
  channel: Channel;
  status: DeliveryStatus;
  recipients: string[];
  template: string | null;
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  data: Record<string, unknown> | null;
  lookup: Lookup | null;
  sensitive: boolean;
  source: 'api' | 'event';
  event_id: string | null;
  event_type: string | null;
  request_key: string | null;
  request_id: string | null;
  requested_by: string | null;
  attempts: number;
  max_attempts: number;
  next_attempt_at: Date;
  lease_until: Date | null;
  worker: string | null;
  last_error: string | null;
  provider_message_id: string | null;
  delivered_to: string[];
  sent_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempt_no: number;
  worker: string;
  outcome: 'sent' | 'error' | 'abandoned' | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deliveryView(d: DeliveryRow, options: { withBody?: boolean; history?: AttemptRow[] } = {}) {
  return {
    id: d.id,
    channel: d.channel,
    status: d.status,
    to: d.recipients,
    template: d.template,
    subject: d.subject,
    ...(options.withBody
      ? {
          // Bodies that carry a one-time token (invitations, resets) are never shown.
          text: d.sensitive ? null : d.body_text,
          html: d.sensitive ? null : d.body_html,
        }
      : {}),
    attempts: d.attempts,
    maxAttempts: d.max_attempts,
    lastError: d.last_error,
    nextAttemptAt: d.status === 'queued' ? d.next_attempt_at.toISOString() : null,
    providerMessageId: d.provider_message_id,
    source: d.source,
    eventId: d.event_id,
    eventType: d.event_type,
    requestedBy: d.requested_by,
    sentAt: iso(d.sent_at),
    failedAt: iso(d.failed_at),
    createdAt: d.created_at.toISOString(),
    updatedAt: d.updated_at.toISOString(),
    ...(options.history
      ? {
          history: options.history.map((a) => ({
            attempt: a.attempt_no,
            outcome: a.outcome ?? 'running',
            error: a.error,
            startedAt: a.started_at.toISOString(),
            finishedAt: iso(a.finished_at),
          })),
        }
      : {}),
  };
}
export type DeliveryView = ReturnType<typeof deliveryView>;

export interface NewDelivery {
  tenantId: string;
  channel: Channel;
  recipients: string[];
  template?: string | null;
  subject?: string | null;
  text?: string | null;
  html?: string | null;
  data?: Record<string, unknown> | null;
  lookup?: Lookup | null;
  sensitive?: boolean;
  source: 'api' | 'event';
  eventId?: string | null;
  eventType?: string | null;
  requestKey?: string | null;
  requestId?: string | null;
  requestedBy?: string | null;
  maxAttempts: number;
}

/**
 * Inserts a queued delivery; undefined when one already exists for the same event or request key
 * (the unique constraints make a redelivered event or a retried request a no-op).
 */
export async function insertDelivery(db: Queryable, d: NewDelivery): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>(
    `INSERT INTO notifications.deliveries (id, tenant_id, channel, status, recipients, template, subject, body_text, body_html, data, lookup,
        sensitive, source, event_id, event_type, request_key, request_id, requested_by, max_attempts)
     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT DO NOTHING RETURNING *`,
    [
      randomUUID(),
      d.tenantId,
      d.channel,
      d.recipients,
      d.template ?? null,
      d.subject ?? null,
      d.text ?? null,
      d.html ?? null,
      d.data ? JSON.stringify(d.data) : null,
      d.lookup ? JSON.stringify(d.lookup) : null,
      d.sensitive ?? false,
      d.source,
      d.eventId ?? null,
      d.eventType ?? null,
      d.requestKey ?? null,
      d.requestId ?? null,
      d.requestedBy ?? null,
      d.maxAttempts,
    ],
  );
  return rows[0];
}

export async function findDeliveryByRequestKey(db: Queryable, tenantId: string, channel: Channel, requestKey: string): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>('SELECT * FROM notifications.deliveries WHERE tenant_id = $1 AND channel = $2 AND request_key = $3', [tenantId, channel, requestKey]);
  return rows[0];
}

export async function findDelivery(db: Queryable, tenantId: string, id: string): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>('SELECT * FROM notifications.deliveries WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0];
}

export async function listAttempts(db: Queryable, tenantId: string, deliveryId: string): Promise<AttemptRow[]> {
  const { rows } = await db.query<AttemptRow>('SELECT * FROM notifications.attempts WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt_no', [tenantId, deliveryId]);
  return rows;
}

/** The delivery log, newest first (keyset on created_at, id). */
export async function listDeliveries(
  db: Queryable,
  tenantId: string,
  opts: { channel?: Channel; status?: DeliveryStatus; limit: number; before?: { createdAt: string; id: string } },
): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT * FROM notifications.deliveries
      WHERE tenant_id = $1
        AND ($2::text IS NULL OR channel = $2)
        AND ($3::text IS NULL OR status = $3)
        AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $6`,
    [tenantId, opts.channel ?? null, opts.status ?? null, opts.before?.createdAt ?? null, opts.before?.id ?? null, opts.limit],
  );
  return rows;
}

// ---- the worker's side (worker pool, BYPASSRLS: every tenant) -----------------------------------

export interface ClaimedDelivery extends DeliveryRow {
  previous_status: DeliveryStatus;
}

/**
 * Claims due deliveries: queued ones whose next attempt is due, and ones left `sending` by a worker
 * whose lease lapsed (it died). SKIP LOCKED lets any number of replicas claim side by side; the
 * claim itself counts the attempt and sets a lease.
 */
export async function claimDue(
  db: Queryable,
  opts: { limit: number; leaseSeconds: number; worker: string; tenantIds?: string[] },
): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT id, status AS previous_status FROM notifications.deliveries
        WHERE ((status = 'queued' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until < now()))
          AND ($4::uuid[] IS NULL OR tenant_id = ANY($4::uuid[]))
        ORDER BY next_attempt_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE notifications.deliveries d
        SET status = 'sending', attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $2),
            worker = $3, updated_at = now()
       FROM due WHERE d.id = due.id
     RETURNING d.*, due.previous_status`,
    [opts.limit, opts.leaseSeconds, opts.worker, opts.tenantIds ?? null],
  );
  return rows;
}

/** Attempts left running by a dead worker are closed as abandoned; then the new attempt is opened. */
export async function openAttempts(db: Queryable, claimed: ClaimedDelivery[], worker: string): Promise<void> {
  if (!claimed.length) return;
  const reclaimed = claimed.filter((c) => c.previous_status === 'sending').map((c) => c.id);
  if (reclaimed.length) {
    await db.query(
      `UPDATE notifications.attempts SET outcome = 'abandoned', error = 'lease expired: the worker stopped before finishing', finished_at = now()
        WHERE delivery_id = ANY($1::uuid[]) AND outcome IS NULL`,
      [reclaimed],
    );
  }
  await db.query(
    `INSERT INTO notifications.attempts (id, tenant_id, delivery_id, attempt_no, worker)
     SELECT gen_random_uuid(), x.tenant_id, x.delivery_id, x.attempt_no, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, delivery_id uuid, attempt_no int)
     ON CONFLICT (delivery_id, attempt_no) DO NOTHING`,
    [JSON.stringify(claimed.map((c) => ({ tenant_id: c.tenant_id, delivery_id: c.id, attempt_no: c.attempts }))), worker],
  );
}

/** Stores what the worker resolved (recipients from a lookup, the rendered message) before sending. */
export async function saveResolved(
  db: Queryable,
  d: { id: string; attempts: number; recipients: string[]; subject: string | null; text: string | null; html: string | null },
): Promise<void> {
  await db.query(
    `UPDATE notifications.deliveries SET recipients = $3, subject = $4, body_text = $5, body_html = $6, lookup = NULL, updated_at = now()
      WHERE id = $1 AND attempts = $2 AND status = 'sending'`,
    [d.id, d.attempts, d.recipients, d.subject, d.text, d.html],
  );
}

/** Push: one more subscription served, so a retry skips it. */
export async function markDeliveredTo(db: Queryable, id: string, attempts: number, subscriptionId: string): Promise<void> {
  await db.query(
    `UPDATE notifications.deliveries SET delivered_to = array_append(delivered_to, $3), updated_at = now()
      WHERE id = $1 AND attempts = $2 AND status = 'sending' AND NOT ($3 = ANY(delivered_to))`,
    [id, attempts, subscriptionId],
  );
}

const WIPE_SENSITIVE = `body_text = CASE WHEN sensitive THEN NULL ELSE body_text END,
            body_html = CASE WHEN sensitive THEN NULL ELSE body_html END,
            data = CASE WHEN sensitive THEN NULL ELSE data END`;

/**
 * Records a successful attempt. Fenced on the attempt number: a worker whose lease was taken over
 * cannot overwrite the newer attempt's outcome. Returns false when fenced out.
 */
export async function finishSent(db: Queryable, d: { id: string; attempts: number }, providerMessageId: string | null): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE notifications.deliveries
        SET status = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL, provider_message_id = $3, ${WIPE_SENSITIVE}, updated_at = now()
      WHERE id = $1 AND attempts = $2 AND status = 'sending'`,
    [d.id, d.attempts, providerMessageId],
  );
  await db.query(`UPDATE notifications.attempts SET outcome = 'sent', finished_at = now() WHERE delivery_id = $1 AND attempt_no = $2 AND outcome IS NULL`, [d.id, d.attempts]);
  return rowCount === 1;
}

/** Records a failed attempt: queued again after `delayMs`, or failed for good when `final`. */
export async function finishFailed(db: Queryable, d: { id: string; attempts: number }, error: string, final: boolean, delayMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    final
      ? `UPDATE notifications.deliveries
            SET status = 'failed', failed_at = now(), lease_until = NULL, last_error = $3, ${WIPE_SENSITIVE}, updated_at = now()
          WHERE id = $1 AND attempts = $2 AND status = 'sending'`
      : `UPDATE notifications.deliveries
            SET status = 'queued', lease_until = NULL, last_error = $3, next_attempt_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
          WHERE id = $1 AND attempts = $2 AND status = 'sending'`,
    final ? [d.id, d.attempts, error] : [d.id, d.attempts, error, delayMs],
  );
  await db.query(`UPDATE notifications.attempts SET outcome = 'error', error = $3, finished_at = now() WHERE delivery_id = $1 AND attempt_no = $2 AND outcome IS NULL`, [
    d.id,
    d.attempts,
    error,
  ]);
  return rowCount === 1;
}
