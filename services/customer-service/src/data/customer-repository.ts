import { randomUUID } from 'node:crypto';
import type { Queryable } from '@pos/database';

export interface CustomerRow {
  id: string;
  tenant_id: string;
  name: string;
  email: string | null;
  phone: string | null;
  notes: string | null;
  email_consent: boolean;
  email_consent_at: Date | null;
  sms_consent: boolean;
  sms_consent_at: Date | null;
  loyalty_balance: number;
  created_by: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  erased_at: Date | null;
  erased_by: string | null;
}

export type Channel = 'email' | 'sms';

export interface ConsentChangeRow {
  id: string;
  channel: Channel;
  granted: boolean;
  actor_id: string;
  changed_at: Date;
}

export const ERASED_NAME = 'Erased customer';

const consentView = (granted: boolean, at: Date | null) => ({ granted, changedAt: at?.toISOString() ?? null });

export const customerView = (c: CustomerRow) => ({
  id: c.id,
  name: c.name,
  email: c.email,
  phone: c.phone,
  notes: c.notes,
  marketingConsent: { email: consentView(c.email_consent, c.email_consent_at), sms: consentView(c.sms_consent, c.sms_consent_at) },
  loyaltyBalance: c.loyalty_balance,
  version: c.version,
  createdAt: c.created_at.toISOString(),
  updatedAt: c.updated_at.toISOString(),
  erasedAt: c.erased_at?.toISOString() ?? null,
});
export type CustomerView = ReturnType<typeof customerView>;

export const consentChangeView = (c: ConsentChangeRow) => ({ channel: c.channel, granted: c.granted, actorId: c.actor_id, changedAt: c.changed_at.toISOString() });

export interface NewCustomer {
  name: string;
  email: string | null;
  phone: string | null;
  notes: string | null;
  consent: Partial<Record<Channel, boolean>>;
  actorId: string;
}

export async function insertCustomer(db: Queryable, tenantId: string, c: NewCustomer): Promise<CustomerRow> {
  const { rows } = await db.query<CustomerRow>(
    `INSERT INTO customers.customers (id, tenant_id, name, email, phone, notes, email_consent, email_consent_at, sms_consent, sms_consent_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, false), CASE WHEN $7::boolean IS NULL THEN NULL ELSE now() END,
             coalesce($8, false), CASE WHEN $8::boolean IS NULL THEN NULL ELSE now() END, $9)
     RETURNING *`,
    [randomUUID(), tenantId, c.name, c.email, c.phone, c.notes, c.consent.email ?? null, c.consent.sms ?? null, c.actorId],
  );
  return rows[0]!;
}

export async function findCustomer(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<CustomerRow | undefined> {
  const { rows } = await db.query<CustomerRow>(`SELECT * FROM customers.customers WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

/** The customer already holding this email or phone in the tenant (other than `exceptId`). */
export async function findContactOwner(
  db: Queryable,
  tenantId: string,
  contact: { email?: string | null; phone?: string | null },
  exceptId?: string,
): Promise<{ id: string; field: 'email' | 'phone' } | undefined> {
  const { rows } = await db.query<{ id: string; field: 'email' | 'phone' }>(
    `SELECT id, CASE WHEN $2::text IS NOT NULL AND email = $2 THEN 'email' ELSE 'phone' END AS field
       FROM customers.customers
      WHERE tenant_id = $1 AND (($2::text IS NOT NULL AND email = $2) OR ($3::text IS NOT NULL AND phone = $3))
        AND ($4::uuid IS NULL OR id <> $4)
      ORDER BY field LIMIT 1`,
    [tenantId, contact.email ?? null, contact.phone ?? null, exceptId ?? null],
  );
  return rows[0];
}

export interface CustomerSearch {
  /** Matched case- and accent-insensitively anywhere in name, email or phone. */
  q?: string;
  /** Digits of `q` when it looks like a phone number: matched against the stored E.164 digits. */
  digits?: string;
  email?: string;
  phone?: string;
  limit: number;
  after?: { name: string; id: string };
}

const SEARCH_TEXT = "customers.search_text(c.name || ' ' || coalesce(c.email, '') || ' ' || coalesce(c.phone, ''))";

/** Keyset-paginated by (lower(name), id); erased customers are not listed. */
export async function searchCustomers(db: Queryable, tenantId: string, s: CustomerSearch): Promise<CustomerRow[]> {
  const { rows } = await db.query<CustomerRow>(
    `SELECT c.* FROM customers.customers c
      WHERE c.tenant_id = $1 AND c.erased_at IS NULL
        AND ($2::text IS NULL OR ${SEARCH_TEXT} LIKE '%' || customers.search_text($2) || '%'
             OR ($3::text IS NOT NULL AND ${SEARCH_TEXT} LIKE '%' || $3 || '%'))
        AND ($4::text IS NULL OR c.email = $4)
        AND ($5::text IS NULL OR c.phone = $5)
        AND ($6::text IS NULL OR (lower(c.name), c.id) > ($6, $7::uuid))
      ORDER BY lower(c.name), c.id
      LIMIT $8`,
    [tenantId, s.q ? escapeLike(s.q) : null, s.digits ?? null, s.email ?? null, s.phone ?? null, s.after?.name ?? null, s.after?.id ?? null, s.limit],
  );
  return rows;
}

/** `%` and `_` typed by a user are literal characters, not wildcards. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface CustomerChanges {
  name?: string;
  email?: string | null;
  phone?: string | null;
  notes?: string | null;
  consent?: Partial<Record<Channel, boolean>>;
}

/** Applies the changes if `version` is current; consent timestamps move only when a flag changes. */
export async function updateCustomer(db: Queryable, tenantId: string, id: string, version: number, ch: CustomerChanges): Promise<CustomerRow | undefined> {
  const { rows } = await db.query<CustomerRow>(
    `UPDATE customers.customers SET
        name = CASE WHEN $4 THEN $5 ELSE name END,
        email = CASE WHEN $6 THEN $7 ELSE email END,
        phone = CASE WHEN $8 THEN $9 ELSE phone END,
        notes = CASE WHEN $10 THEN $11 ELSE notes END,
        email_consent_at = CASE WHEN $12::boolean IS NOT NULL AND ($12 <> email_consent OR email_consent_at IS NULL) THEN now() ELSE email_consent_at END,
        email_consent = coalesce($12, email_consent),
        sms_consent_at = CASE WHEN $13::boolean IS NOT NULL AND ($13 <> sms_consent OR sms_consent_at IS NULL) THEN now() ELSE sms_consent_at END,
        sms_consent = coalesce($13, sms_consent),
        version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 AND version = $3 AND erased_at IS NULL
      RETURNING *`,
    [
      tenantId,
      id,
      version,
      ch.name !== undefined,
      ch.name ?? null,
      ch.email !== undefined,
      ch.email ?? null,
      ch.phone !== undefined,
      ch.phone ?? null,
      ch.notes !== undefined,
      ch.notes ?? null,
      ch.consent?.email ?? null,
      ch.consent?.sms ?? null,
    ],
  );
  return rows[0];
}

export async function recordConsentChanges(db: Queryable, tenantId: string, customerId: string, changes: Array<{ channel: Channel; granted: boolean }>, actorId: string): Promise<void> {
  for (const c of changes) {
    await db.query('INSERT INTO customers.consent_changes (id, tenant_id, customer_id, channel, granted, actor_id) VALUES ($1, $2, $3, $4, $5, $6)', [
      randomUUID(),
      tenantId,
      customerId,
      c.channel,
      c.granted,
      actorId,
    ]);
  }
}

export async function listConsentChanges(db: Queryable, tenantId: string, customerId: string): Promise<ConsentChangeRow[]> {
  const { rows } = await db.query<ConsentChangeRow>(
    'SELECT id, channel, granted, actor_id, changed_at FROM customers.consent_changes WHERE tenant_id = $1 AND customer_id = $2 ORDER BY changed_at, id',
    [tenantId, customerId],
  );
  return rows;
}

/**
 * Erasure: personal fields anonymised in place, consents and their history cleared. The id, the
 * loyalty balance and ledger and the purchase history (amounts, no personal data) stay.
 */
export async function eraseCustomer(db: Queryable, tenantId: string, id: string, actorId: string): Promise<CustomerRow> {
  await db.query('DELETE FROM customers.consent_changes WHERE tenant_id = $1 AND customer_id = $2', [tenantId, id]);
  const { rows } = await db.query<CustomerRow>(
    `UPDATE customers.customers SET name = $3, email = NULL, phone = NULL, notes = NULL,
        email_consent = false, email_consent_at = NULL, sms_consent = false, sms_consent_at = NULL,
        erased_at = now(), erased_by = $4, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [tenantId, id, ERASED_NAME, actorId],
  );
  return rows[0]!;
}
