import { EVENTS, ListQuerySchema } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, pgConstraint, type Queryable, withTenant } from '@pos/database';
import { writeEvent } from '@pos/events';
import type { RouteTable } from '@pos/http';
import { conflict, notFound, versionConflict } from '@pos/utils';
import { SCHEMA, type CustomerDeps } from '../deps';
import {
  consentChangeView,
  customerView,
  eraseCustomer,
  findContactOwner,
  findCustomer,
  insertCustomer,
  listConsentChanges,
  recordConsentChanges,
  searchCustomers,
  updateCustomer,
  type Channel,
  type CustomerRow,
} from '../data/customer-repository';
import { historyView, listCustomerSales, purchaseTotals, refundsOf } from '../data/history-repository';
import { ledgerView, listLedger } from '../data/loyalty-repository';
import { refuseCardData } from './guards';
import { CustomerList, CustomerSchema, ExportSchema, HistoryList, IdParams, customerBodies } from './schemas';

const tags = ['customers'];
/** Cashiers look customers up and attach them at the till; notification-service reads contact details. */
const READ = ['owner', 'manager', 'cashier', 'service'] as const;
const WRITE = ['owner', 'manager', 'cashier'] as const;
const PRIVACY = ['owner', 'manager'] as const;

const CHANNELS: Channel[] = ['email', 'sms'];

export const customerExists = (owner: { id: string; field: 'email' | 'phone' }) =>
  conflict(`Customer ${owner.id} already has this ${owner.field}`, 'customer_exists', { existingCustomerId: owner.id, field: owner.field });

/** The customer of the caller's tenant, or 404 (another tenant's id included). */
export async function loadCustomer(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<CustomerRow> {
  const row = await findCustomer(db, tenantId, id, forUpdate);
  if (!row) throw notFound('Customer');
  return row;
}

const consentFlags = (c: CustomerRow) => ({ email: c.email_consent, sms: c.sms_consent });

export function customerRoutes(table: RouteTable, deps: CustomerDeps): void {
  const { pool, config, logger } = deps;
  const { CreateCustomerBody, UpdateCustomerBody, CustomerListQuery } = customerBodies(config.DEFAULT_PHONE_COUNTRY);
  const noCardData = refuseCardData(logger);

  /** A unique-index race lost to a concurrent insert: answer with the customer that won. */
  const duplicateContact = (tenantId: string, contact: { email?: string | null; phone?: string | null }, exceptId?: string) => async (err: unknown) => {
    const constraint = pgConstraint(err);
    if (pgCode(err) === PG.uniqueViolation && (constraint === 'customers_email_unique' || constraint === 'customers_phone_unique')) {
      const owner = await withTenant(pool, tenantId, (db) => findContactOwner(db, tenantId, contact, exceptId));
      if (owner) throw customerExists(owner);
    }
    throw err;
  };

  table.add({
    method: 'get',
    path: '/api/v1/customers',
    summary: 'Search customers by part of the name, email or phone (case-insensitive), or exactly by email or phone',
    tags,
    roles: READ,
    query: CustomerListQuery,
    responses: { 200: { description: 'A page of customers (erased ones are not listed)', schema: CustomerList } },
    handler: async ({ query, auth }) => {
      const after = decodeCursor(query.cursor, ['name', 'id'] as const);
      // "(415) 555-01" should find +14155550100: a phone-looking query is also matched by its digits.
      const digits = query.q && /^[\d\s+().\-/]+$/.test(query.q) ? query.q.replace(/\D/g, '') : '';
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        searchCustomers(db, auth.tenantId, { q: query.q, digits: digits.length >= 3 ? digits : undefined, email: query.email, phone: query.phone, limit: query.limit + 1, after }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ name: last.name.toLowerCase(), id: last.id }));
      return { data: page.map(customerView), nextCursor };
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/customers',
    summary: 'Create a customer (email lower-cased, phone in E.164; one customer per email and per phone)',
    tags,
    roles: WRITE,
    before: [noCardData],
    body: CreateCustomerBody,
    responses: {
      201: { description: 'The customer', schema: CustomerSchema },
      409: { description: '`customer_exists`: the email or phone belongs to `existingCustomerId`' },
    },
    handler: async ({ body, auth }) => {
      const contact = { email: body.email ?? null, phone: body.phone ?? null };
      const row = await withTenant(pool, auth.tenantId, async (db) => {
        const owner = await findContactOwner(db, auth.tenantId, contact);
        if (owner) throw customerExists(owner);
        const consent = body.marketingConsent ?? {};
        const created = await insertCustomer(db, auth.tenantId, { name: body.name, ...contact, notes: body.notes ?? null, consent, actorId: auth.userId });
        await recordConsentChanges(db, auth.tenantId, created.id, CHANNELS.flatMap((channel) => (consent[channel] === undefined ? [] : [{ channel, granted: consent[channel] }])), auth.userId);
        await writeEvent(db, {
          schema: SCHEMA,
          type: EVENTS.customerCreated,
          tenantId: auth.tenantId,
          data: { customerId: created.id, version: created.version, hasEmail: created.email !== null, hasPhone: created.phone !== null, marketingConsent: consentFlags(created) },
        });
        return created;
      }).catch(duplicateContact(auth.tenantId, contact));
      return customerView(row);
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/customers/:id',
    summary: 'Get a customer (contact details and consents; also for notification-service with a service token)',
    tags,
    roles: READ,
    params: IdParams,
    responses: { 200: { description: 'The customer (an erased one comes back anonymised, with erasedAt)', schema: CustomerSchema }, 404: { description: 'No such customer' } },
    handler: async ({ params, auth }) => customerView(await withTenant(pool, auth.tenantId, (db) => loadCustomer(db, auth.tenantId, params.id))),
  });

  table.add({
    method: 'patch',
    path: '/api/v1/customers/:id',
    summary: 'Change a customer (version checked); consent changes are timestamped',
    tags,
    roles: WRITE,
    before: [noCardData],
    params: IdParams,
    body: UpdateCustomerBody,
    responses: {
      200: { description: 'The customer', schema: CustomerSchema },
      404: { description: 'No such customer' },
      409: { description: 'Stale version (`version_conflict`), email or phone taken (`customer_exists`), or erased (`customer_erased`)' },
    },
    handler: async ({ params, body, auth }) => {
      const { version, marketingConsent, ...fields } = body;
      const contact = { email: fields.email, phone: fields.phone };
      const row = await withTenant(pool, auth.tenantId, async (db) => {
        const current = await loadCustomer(db, auth.tenantId, params.id, true);
        if (current.erased_at) throw conflict('This customer was erased and can no longer be changed', 'customer_erased');
        if (current.version !== version) throw versionConflict(current.version);
        const owner = await findContactOwner(db, auth.tenantId, { email: contact.email ?? null, phone: contact.phone ?? null }, current.id);
        if (owner) throw customerExists(owner);
        const changes = (['name', 'email', 'phone', 'notes'] as const).filter((f) => fields[f] !== undefined && fields[f] !== current[f]);
        const consentChanges = CHANNELS.flatMap((channel) => {
          const granted = marketingConsent?.[channel];
          if (granted === undefined) return [];
          const was = channel === 'email' ? current.email_consent : current.sms_consent;
          const at = channel === 'email' ? current.email_consent_at : current.sms_consent_at;
          return granted !== was || at === null ? [{ channel, granted }] : [];
        });
        const updated = await updateCustomer(db, auth.tenantId, current.id, version, { ...fields, consent: marketingConsent });
        if (!updated) throw versionConflict(current.version);
        await recordConsentChanges(db, auth.tenantId, current.id, consentChanges, auth.userId);
        await writeEvent(db, {
          schema: SCHEMA,
          type: EVENTS.customerUpdated,
          tenantId: auth.tenantId,
          data: { customerId: updated.id, version: updated.version, changes: [...changes, ...consentChanges.map((c) => `marketingConsent.${c.channel}`)], marketingConsent: consentFlags(updated) },
        });
        return updated;
      }).catch(duplicateContact(auth.tenantId, contact, params.id));
      return customerView(row);
    },
  });

  table.add({
    method: 'delete',
    path: '/api/v1/customers/:id',
    summary: 'Erase a customer (right to erasure): personal fields anonymised, consents cleared; purchase totals and loyalty ledger kept; audited',
    tags,
    roles: PRIVACY,
    params: IdParams,
    responses: { 204: { description: 'Erased (also when it already was)' }, 404: { description: 'No such customer' } },
    handler: async ({ params, auth, res }) => {
      await withTenant(pool, auth.tenantId, async (db) => {
        const current = await loadCustomer(db, auth.tenantId, params.id, true);
        if (current.erased_at) return;
        const erased = await eraseCustomer(db, auth.tenantId, current.id, auth.userId);
        await writeEvent(db, {
          schema: SCHEMA,
          type: EVENTS.customerErased,
          tenantId: auth.tenantId,
          data: { customerId: erased.id, actorId: auth.userId, actorRole: auth.role, erasedAt: erased.erased_at!.toISOString() },
        });
      });
      res.status(204).end();
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/customers/:id/transactions',
    summary: "The customer's purchase history, newest first (from sale events)",
    tags,
    roles: READ,
    params: IdParams,
    query: ListQuerySchema,
    responses: { 200: { description: 'A page of sales', schema: HistoryList }, 404: { description: 'No such customer' } },
    handler: async ({ params, query, auth }) => {
      const before = decodeCursor(query.cursor, ['occurredAt', 'saleId'] as const);
      const { rows, refunds } = await withTenant(pool, auth.tenantId, async (db) => {
        await loadCustomer(db, auth.tenantId, params.id);
        const found = await listCustomerSales(db, auth.tenantId, params.id, query.limit + 1, before);
        return { rows: found, refunds: await refundsOf(db, auth.tenantId, found.slice(0, query.limit).map((r) => r.sale_id)) };
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ occurredAt: last.occurred_at.toISOString(), saleId: last.sale_id }));
      return { data: page.map((r) => historyView(r, refunds.get(r.sale_id))), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/customers/:id/export',
    summary: 'Everything held about the customer (profile, consents and their history, purchases, loyalty ledger) as JSON; audited',
    tags,
    roles: PRIVACY,
    params: IdParams,
    responses: { 200: { description: 'The export', schema: ExportSchema }, 404: { description: 'No such customer' } },
    handler: async ({ params, auth, res }) => {
      const exported = await withTenant(pool, auth.tenantId, async (db) => {
        const customer = await loadCustomer(db, auth.tenantId, params.id);
        const [history, sales, totals, ledger] = [
          await listConsentChanges(db, auth.tenantId, customer.id),
          await listCustomerSales(db, auth.tenantId, customer.id),
          await purchaseTotals(db, auth.tenantId, customer.id),
          await listLedger(db, auth.tenantId, customer.id),
        ];
        const refunds = await refundsOf(db, auth.tenantId, sales.map((s) => s.sale_id));
        const exportedAt = new Date().toISOString();
        await writeEvent(db, { schema: SCHEMA, type: EVENTS.customerExported, tenantId: auth.tenantId, data: { customerId: customer.id, actorId: auth.userId, actorRole: auth.role, exportedAt } });
        const view = customerView(customer);
        return {
          exportedAt,
          customer: view,
          consents: { ...view.marketingConsent, history: history.map(consentChangeView) },
          purchaseHistory: { totals, transactions: sales.map((s) => historyView(s, refunds.get(s.sale_id))) },
          loyalty: { balance: customer.loyalty_balance, ledger: ledger.reverse().map(ledgerView) },
        };
      });
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Disposition', `attachment; filename="customer-${params.id}.json"`);
      return exported;
    },
  });
}
