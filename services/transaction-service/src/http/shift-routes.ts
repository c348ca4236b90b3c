import { z } from '@pos/types';
import { decodeCursor, pageOf, PG, pgCode, type Queryable, withTenant } from '@pos/database';
import { IdempotencyKeyHeader, assertStoreAccess, canActInStore, idempotency, type AuthContext, type RouteTable } from '@pos/http';
import { badRequest, conflict, forbidden, notFound } from '@pos/utils';
import { SCHEMA, type TransactionDeps } from '../deps';
import { closeShift, findShift, insertCashMovement, insertShift, lateSalesOf, listShifts, shiftTotals, shiftView, type ShiftRow } from '../data/shift-repository';
import { cashVariance, expectedCash } from '../domain/shift-rules';
import { CashMovementBody, CloseShiftBody, IdParams, OpenShiftBody, ShiftList, ShiftListQuery, ShiftSchema } from './schemas';

const tags = ['shifts'];
const STAFF = ['owner', 'manager', 'cashier'] as const;

/** A cashier works their own shifts; managers and owners any shift of their stores. */
function assertShiftAccess(auth: AuthContext, shift: ShiftRow | undefined): asserts shift is ShiftRow {
  if (!shift || !canActInStore(auth, shift.store_id)) throw notFound('Shift');
  if (auth.role === 'cashier' && shift.cashier_id !== auth.userId) throw notFound('Shift');
}

/** Inside a transaction, pass its client: taking a second pooled connection there can starve the pool. */
export async function zReport(deps: TransactionDeps, tenantId: string, shift: ShiftRow, db?: Queryable) {
  const t = db ? await shiftTotals(db, tenantId, shift.id) : await withTenant(deps.pool, tenantId, (c) => shiftTotals(c, tenantId, shift.id));
  const m = (amount: number) => ({ amount, currency: shift.currency });
  const expected = expectedCash({ openingFloat: shift.opening_float, cashSales: t.cashSales, cashRefunds: t.cashRefunds, paidIn: t.paidIn, paidOut: t.paidOut });
  return {
    shiftId: shift.id,
    storeId: shift.store_id,
    cashierId: shift.cashier_id,
    status: shift.status,
    openedAt: shift.opened_at.toISOString(),
    closedAt: shift.closed_at?.toISOString() ?? null,
    salesCount: t.saleCount,
    gross: m(t.gross),
    discounts: m(t.discounts),
    tax: m(t.tax),
    net: m(t.net),
    tenders: Object.fromEntries(Object.entries(t.byTender).map(([k, v]) => [k, m(v)])),
    refunds: { count: t.refundCount, total: m(t.refundTotal), cash: m(t.cashRefunds) },
    voids: { count: t.voidCount, total: m(t.voidTotal) },
    cash: {
      openingFloat: m(shift.opening_float),
      cashSales: m(t.cashSales),
      cashRefunds: m(t.cashRefunds),
      paidIn: m(t.paidIn),
      paidOut: m(t.paidOut),
      expected: m(expected),
      counted: shift.counted_cash === null ? null : m(shift.counted_cash),
      variance: shift.counted_cash === null ? null : m(cashVariance(shift.counted_cash, expected)),
    },
  };
}

const MoneyOut = z.object({ amount: z.number().int(), currency: z.string() });
const ZReportSchema = z
  .object({
    shiftId: z.string(),
    salesCount: z.number().int(),
    gross: MoneyOut,
    discounts: MoneyOut,
    tax: MoneyOut,
    net: MoneyOut,
    tenders: z.record(z.string(), MoneyOut),
    refunds: z.object({ count: z.number().int(), total: MoneyOut, cash: MoneyOut }),
    voids: z.object({ count: z.number().int(), total: MoneyOut }),
    cash: z.object({ expected: MoneyOut, counted: MoneyOut.nullable(), variance: MoneyOut.nullable() }).passthrough(),
  })
  .passthrough()
  .openapi('ZReport');

export function shiftRoutes(table: RouteTable, deps: TransactionDeps): void {
  const { pool } = deps;
  const idempotent = idempotency({ pool, schema: SCHEMA, logger: deps.logger });

  table.add({
    method: 'post',
    path: '/api/v1/shifts',
    summary: 'Open your shift at a store with a cash float',
    tags,
    roles: STAFF,
    body: OpenShiftBody,
    responses: { 201: { description: 'The open shift', schema: ShiftSchema }, 409: { description: 'You already have an open shift here' } },
    handler: async ({ body, auth }) => {
      assertStoreAccess(auth, body.storeId);
      const store = await deps.stores.get(auth.tenantId, body.storeId, auth.token);
      if (body.openingFloat.currency !== store.currency) throw badRequest('The float must be in the store currency', [{ path: 'openingFloat.currency', message: `must be ${store.currency}` }]);
      try {
        return shiftView(await withTenant(pool, auth.tenantId, (db) => insertShift(db, auth.tenantId, { storeId: store.id, cashierId: auth.userId, currency: store.currency, openingFloat: body.openingFloat.amount })));
      } catch (err) {
        if (pgCode(err) === PG.uniqueViolation) throw conflict('You already have an open shift at this store; close it first', 'shift_already_open');
        throw err;
      }
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/shifts',
    summary: 'List shifts (cashiers: their own)',
    tags,
    roles: STAFF,
    query: ShiftListQuery,
    responses: { 200: { description: 'A page of shifts', schema: ShiftList } },
    handler: async ({ query, auth }) => {
      if (query.storeId) assertStoreAccess(auth, query.storeId);
      const after = decodeCursor(query.cursor, ['openedAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listShifts(db, auth.tenantId, {
          storeIds: query.storeId ? [query.storeId] : auth.role === 'owner' ? undefined : auth.stores,
          cashierId: auth.role === 'cashier' || query.mine === 'true' ? auth.userId : undefined,
          status: query.status,
          limit: query.limit + 1,
          after,
        }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ openedAt: last.opened_at.toISOString(), id: last.id }));
      return { data: page.map(shiftView), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/shifts/:id',
    summary: 'Get a shift',
    tags,
    roles: STAFF,
    params: IdParams,
    responses: { 200: { description: 'The shift', schema: ShiftSchema }, 404: { description: 'No such shift' } },
    handler: async ({ params, auth }) => {
      const shift = await withTenant(pool, auth.tenantId, (db) => findShift(db, auth.tenantId, params.id));
      assertShiftAccess(auth, shift);
      return shiftView(shift);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/shifts/:id/cash',
    summary: 'Paid in / paid out of the drawer, with a reason',
    tags,
    roles: STAFF,
    headers: IdempotencyKeyHeader,
    before: [idempotent],
    params: IdParams,
    body: CashMovementBody,
    responses: { 201: { description: 'Recorded', schema: z.object({ id: z.string(), shiftId: z.string(), kind: z.string(), amount: MoneyOut, reason: z.string(), createdAt: z.string() }) }, 409: { description: 'The shift is closed' } },
    handler: ({ params, body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const shift = await findShift(db, auth.tenantId, params.id, true);
        assertShiftAccess(auth, shift);
        if (shift.status !== 'open') throw conflict('The shift is closed', 'shift_closed');
        if (body.amount.currency !== shift.currency) throw badRequest('Wrong currency', [{ path: 'amount.currency', message: `must be ${shift.currency}` }]);
        const row = await insertCashMovement(db, auth.tenantId, { shiftId: shift.id, kind: body.kind, amount: body.amount.amount, reason: body.reason, actorId: auth.userId });
        return { id: row.id, shiftId: shift.id, kind: body.kind, amount: body.amount, reason: body.reason, createdAt: row.created_at.toISOString() };
      }),
  });

  table.add({
    method: 'post',
    path: '/api/v1/shifts/:id/close',
    summary: 'Close a shift with the counted cash; the variance and Z-report are kept',
    tags,
    roles: STAFF,
    params: IdParams,
    body: CloseShiftBody,
    responses: { 200: { description: 'The Z-report of the closed shift', schema: ZReportSchema }, 409: { description: 'Already closed' } },
    handler: async ({ params, body, auth }) => {
      const closed = await withTenant(pool, auth.tenantId, async (db) => {
        const shift = await findShift(db, auth.tenantId, params.id, true);
        assertShiftAccess(auth, shift);
        if (shift.status !== 'open') throw conflict('The shift is already closed', 'shift_closed');
        if (body.countedCash.currency !== shift.currency) throw badRequest('Wrong currency', [{ path: 'countedCash.currency', message: `must be ${shift.currency}` }]);
        const pending = await db.query("SELECT 1 FROM sales.sales WHERE shift_id = $1 AND status IN ('pending', 'reserved') LIMIT 1", [shift.id]);
        if (pending.rowCount) throw conflict('A sale of this shift is still being processed; retry in a moment', 'sale_in_progress');
        const report = await zReport(deps, auth.tenantId, { ...shift, counted_cash: body.countedCash.amount }, db);
        const expected = report.cash.expected.amount;
        return closeShift(db, auth.tenantId, shift.id, {
          countedCash: body.countedCash.amount,
          expectedCash: expected,
          variance: cashVariance(body.countedCash.amount, expected),
          zReport: { ...report, status: 'closed' },
          closedBy: auth.userId,
        });
      });
      return closed.z_report;
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/shifts/:id/report',
    summary: 'Z-report of a shift (live while open, as kept when closed, plus offline sales booked to it after it closed)',
    tags,
    roles: ['owner', 'manager', 'cashier'],
    params: IdParams,
    responses: { 200: { description: 'The Z-report', schema: ZReportSchema } },
    handler: async ({ params, auth }) => {
      const shift = await withTenant(pool, auth.tenantId, (db) => findShift(db, auth.tenantId, params.id));
      assertShiftAccess(auth, shift);
      if (shift.status === 'closed' && shift.z_report) {
        // The kept Z-report never changes. Offline sales synced after the close were in the drawer
        // when it was counted: show them, and the expected cash and variance they explain.
        const late = await withTenant(pool, auth.tenantId, (db) => lateSalesOf(db, auth.tenantId, shift.id));
        const m = (amount: number) => ({ amount, currency: shift.currency });
        const expected = (shift.expected_cash ?? 0) + late.cash;
        return {
          ...shift.z_report,
          lateSales: {
            count: late.count,
            total: m(late.total),
            cash: m(late.cash),
            expectedCash: m(expected),
            variance: m(cashVariance(shift.counted_cash ?? 0, expected)),
          },
        };
      }
      if (auth.role === 'cashier' && shift.cashier_id !== auth.userId) throw forbidden();
      return zReport(deps, auth.tenantId, shift);
    },
  });
}
