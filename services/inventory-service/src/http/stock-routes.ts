import { randomUUID } from 'node:crypto';
import { ListQuerySchema, z } from '@pos/types';
import { decodeCursor, pageOf, withTenant, type PoolClient } from '@pos/database';
import { IdempotencyKeyHeader, assertStoreAccess, canActInStore, idempotency, type AuthContext, type RouteTable } from '@pos/http';
import { badRequest, conflict, forbidden, notFound, versionConflict } from '@pos/utils';
import type { StoreRow } from '@pos/stores';
import type { InventoryDeps } from '../deps';
import { findLevel, levelView, listLevels, listMovements, movementView, setReorderPoint } from '../data/stock-repository';
import {
  claimReservation,
  claimTombstone,
  findReservation,
  insertTransfer,
  markReleased,
  reservationView,
  setReservationLines,
  type ReservationLine,
  type ReservationRow,
} from '../data/reservation-repository';
import { SCHEMA, recordMovements, type MovementKind } from '../stock-ledger';
import {
  AdjustmentBody,
  IdParams,
  InventoryQuery,
  LevelList,
  LevelSchema,
  MovementList,
  MovementSchema,
  PutLevelBody,
  ReservationBody,
  ReservationSchema,
  ReturnBody,
  SaleParams,
  TransferBody,
} from './schemas';

const tags = ['stock'];
const MANAGE = ['owner', 'manager'] as const;
const RESERVE = ['owner', 'manager', 'cashier', 'service'] as const;

const ADJUSTMENT_KIND: Record<z.infer<typeof AdjustmentBody>['reason'], { kind: MovementKind; sign: 1 | -1 | 0 }> = {
  receive: { kind: 'receive', sign: 1 },
  return: { kind: 'return', sign: 1 },
  damage: { kind: 'damage', sign: -1 },
  theft: { kind: 'damage', sign: -1 },
  expired: { kind: 'damage', sign: -1 },
  correction: { kind: 'adjustment', sign: 0 },
};

const sameLines = (a: ReadonlyArray<{ productId: string; quantity: number }>, b: ReadonlyArray<{ productId: string; quantity: number }>) => {
  const key = (lines: ReadonlyArray<{ productId: string; quantity: number }>) =>
    [...lines].map((l) => `${l.productId}:${l.quantity}`).sort().join(',');
  return key(a) === key(b);
};

export function stockRoutes(table: RouteTable, deps: InventoryDeps): void {
  const { pool, stores } = deps;
  const idempotent = idempotency({ pool, schema: SCHEMA, logger: deps.logger });

  /** The caller must act in the store (403) and it must exist in the caller's tenant (404). */
  const storeFor = async (auth: AuthContext, storeId: string) => {
    assertStoreAccess(auth, storeId);
    return stores.get(auth.tenantId, storeId, auth.token);
  };

  table.add({
    method: 'get',
    path: '/api/v1/inventory',
    summary: 'Stock levels (per store and product), optionally only those at or below the reorder point',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    query: InventoryQuery,
    responses: { 200: { description: 'A page of levels', schema: LevelList } },
    handler: async ({ query, auth }) => {
      if (query.storeId) assertStoreAccess(auth, query.storeId);
      const all = auth.role === 'owner' || auth.role === 'service';
      const storeIds = query.storeId ? [query.storeId] : all ? undefined : auth.stores;
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, (db) =>
        listLevels(db, auth.tenantId, { storeIds, productId: query.productId, lowOnly: query.lowStock, limit: query.limit + 1, after }),
      );
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(levelView), nextCursor };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/inventory/:id',
    summary: 'One stock level',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    params: IdParams,
    responses: { 200: { description: 'The level', schema: LevelSchema }, 404: { description: 'No such level in your stores' } },
    handler: async ({ params, auth }) => {
      const level = await withTenant(pool, auth.tenantId, (db) => findLevel(db, auth.tenantId, params.id));
      if (!level || !canActInStore(auth, level.store_id)) throw notFound('Stock level');
      return levelView(level);
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/inventory/:id/movements',
    summary: 'The ledger of one stock level, oldest first',
    tags,
    roles: ['owner', 'manager'],
    params: IdParams,
    query: ListQuerySchema,
    responses: { 200: { description: 'A page of movements', schema: MovementList } },
    handler: async ({ params, query, auth }) => {
      const after = decodeCursor(query.cursor, ['createdAt', 'id'] as const);
      const rows = await withTenant(pool, auth.tenantId, async (db) => {
        const level = await findLevel(db, auth.tenantId, params.id);
        if (!level || !canActInStore(auth, level.store_id)) throw notFound('Stock level');
        return listMovements(db, auth.tenantId, level.id, query.limit + 1, after);
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ createdAt: last.created_at.toISOString(), id: last.id }));
      return { data: page.map(movementView), nextCursor };
    },
  });

  table.add({
    method: 'put',
    path: '/api/v1/inventory/:id',
    summary: 'Set the reorder point and/or record a physical count (version checked)',
    tags,
    roles: MANAGE,
    params: IdParams,
    body: PutLevelBody,
    responses: { 200: { description: 'The level', schema: LevelSchema }, 404: { description: 'No such level' }, 409: { description: 'Stale version' } },
    handler: ({ params, body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const level = await findLevel(db, auth.tenantId, params.id, true);
        if (!level || !canActInStore(auth, level.store_id)) throw notFound('Stock level');
        if (level.version !== body.version) throw versionConflict(level.version);
        if (body.reorderPoint !== undefined) await setReorderPoint(db, auth.tenantId, level.id, body.reorderPoint);
        if (body.countedQuantity !== undefined && body.countedQuantity !== level.on_hand) {
          // A count is a movement of the difference, so on-hand stays the sum of the ledger.
          await recordMovements(db, {
            tenantId: auth.tenantId,
            storeId: level.store_id,
            kind: 'count',
            lines: [{ productId: level.product_id, quantity: body.countedQuantity - level.on_hand }],
            allowNegative: true,
            actorId: auth.userId,
            reason: body.note ?? 'physical count',
          });
        }
        return levelView((await findLevel(db, auth.tenantId, level.id))!);
      }),
  });

  table.add({
    method: 'post',
    path: '/api/v1/stock/adjustments',
    summary: 'Receive, write off or correct stock at a store',
    tags,
    roles: MANAGE,
    headers: IdempotencyKeyHeader,
    before: [idempotent],
    body: AdjustmentBody,
    responses: {
      201: { description: 'The movement and the new level', schema: z.object({ movement: MovementSchema, level: LevelSchema }) },
      409: { description: 'Not enough stock (store denies negative stock)' },
    },
    handler: async ({ body, auth }) => {
      const store = await storeFor(auth, body.storeId);
      const rule = ADJUSTMENT_KIND[body.reason];
      if (rule.sign !== 0 && Math.sign(body.quantity) !== rule.sign) {
        throw badRequest(`A ${body.reason} must be ${rule.sign > 0 ? 'positive' : 'negative'}`, [{ path: 'quantity', message: `must be ${rule.sign > 0 ? 'positive' : 'negative'} for ${body.reason}` }]);
      }
      return withTenant(pool, auth.tenantId, async (db) => {
        const result = await recordMovements(db, {
          tenantId: auth.tenantId,
          storeId: store.id,
          kind: rule.kind,
          lines: [{ productId: body.productId, quantity: body.quantity }],
          allowNegative: store.allow_negative_stock,
          actorId: auth.userId,
          reason: body.note ? `${body.reason}: ${body.note}` : body.reason,
        });
        const level = result.levels.get(body.productId)!;
        return { movement: movementView(result.movements[0]!), level: levelView((await findLevel(db, auth.tenantId, level.id))!) };
      });
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/stock/transfers',
    summary: 'Move stock between two stores: both sides or neither',
    tags,
    roles: MANAGE,
    headers: IdempotencyKeyHeader,
    before: [idempotent],
    body: TransferBody,
    responses: {
      201: { description: 'The transfer with the new levels on both sides', schema: z.object({ id: z.string(), fromStoreId: z.string(), toStoreId: z.string(), lines: z.array(z.object({ productId: z.string(), quantity: z.number(), fromOnHand: z.number(), toOnHand: z.number() })) }) },
      409: { description: 'Not enough stock at the source' },
    },
    handler: async ({ body, auth }) => {
      const from = await storeFor(auth, body.fromStoreId);
      const to = await storeFor(auth, body.toStoreId);
      const id = randomUUID();
      const reference = { type: 'transfer', id };
      return withTenant(pool, auth.tenantId, async (db) => {
        // Lock both stores' levels in one global order (by store id) so opposite transfers cannot deadlock.
        const sides = [
          { store: from, kind: 'transfer_out' as const, sign: -1, allowNegative: from.allow_negative_stock },
          { store: to, kind: 'transfer_in' as const, sign: 1, allowNegative: true },
        ].sort((a, b) => a.store.id.localeCompare(b.store.id));
        const onHand = new Map<string, number>();
        for (const side of sides) {
          const result = await recordMovements(db, {
            tenantId: auth.tenantId,
            storeId: side.store.id,
            kind: side.kind,
            lines: body.lines.map((l) => ({ productId: l.productId, quantity: side.sign * l.quantity })),
            allowNegative: side.allowNegative,
            actorId: auth.userId,
            reason: body.note ?? null,
            reference,
          });
          for (const c of result.changes) onHand.set(`${side.kind}:${c.productId}`, c.after);
        }
        await insertTransfer(db, { id, tenantId: auth.tenantId, fromStoreId: from.id, toStoreId: to.id, lines: body.lines, note: body.note, createdBy: auth.userId });
        return {
          id,
          fromStoreId: from.id,
          toStoreId: to.id,
          lines: body.lines.map((l) => ({ ...l, fromOnHand: onHand.get(`transfer_out:${l.productId}`)!, toOnHand: onHand.get(`transfer_in:${l.productId}`)! })),
        };
      });
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/stock/reservations',
    summary: 'Take the stock of a sale (all lines or none); idempotent by saleId',
    tags,
    roles: RESERVE,
    body: ReservationBody,
    responses: {
      201: { description: 'Reserved (200 when the same reservation already exists)', schema: ReservationSchema },
      409: { description: 'Not enough stock (`shortages` names the products), released sale, or a different reservation for this sale' },
    },
    handler: async ({ body, auth, res }) => {
      // Cashiers may reserve too, but never past the store's negative-stock rule.
      if (body.allowNegative && auth.role !== 'service') throw forbidden('Only transaction-service may reserve below zero (offline sales)', 'allow_negative_forbidden');
      assertStoreAccess(auth, body.storeId);
      const reserveIn = async (db: PoolClient, store: StoreRow): Promise<{ replayed: boolean; row: ReservationRow }> => {
        if (!(await claimReservation(db, auth.tenantId, body.saleId, store.id))) {
          const existing = (await findReservation(db, auth.tenantId, body.saleId))!;
          if (existing.status === 'released') throw conflict('This sale was released; its stock cannot be reserved again', 'reservation_released');
          if (existing.store_id !== store.id || !sameLines(existing.lines, body.lines)) {
            throw conflict('This sale already has a different reservation', 'reservation_mismatch');
          }
          return { replayed: true, row: existing };
        }
        const result = await recordMovements(db, {
          tenantId: auth.tenantId,
          storeId: store.id,
          kind: 'sale',
          lines: body.lines.map((l) => ({ productId: l.productId, quantity: -l.quantity })),
          allowNegative: store.allow_negative_stock || body.allowNegative === true,
          pastFact: body.allowNegative === true,
          actorId: auth.userId,
          reason: body.allowNegative ? 'offline sale (may go below zero)' : null,
          reference: { type: 'sale', id: body.saleId },
        });
        const after = new Map(result.changes.map((c) => [c.productId, c.after]));
        const lines: ReservationLine[] = body.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, onHandAfter: after.get(l.productId) }));
        await setReservationLines(db, auth.tenantId, body.saleId, lines);
        return { replayed: false, row: (await findReservation(db, auth.tenantId, body.saleId))! };
      };
      // The projected store is read in the reservation's own transaction; only a store not projected
      // yet (or inactive: 404) takes the directory's slower path first.
      const projected = await withTenant(pool, auth.tenantId, async (db) => {
        const store = await stores.find(db, auth.tenantId, body.storeId);
        return store?.active ? reserveIn(db, store) : null;
      });
      let outcome = projected;
      if (!outcome) {
        const store = await stores.get(auth.tenantId, body.storeId, auth.token);
        outcome = await withTenant(pool, auth.tenantId, (db) => reserveIn(db, store));
      }
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(outcome.replayed ? 200 : 201).json(reservationView(outcome.row));
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/stock/reservations/:saleId',
    summary: "A sale's reservation (for recovery sweeps)",
    tags,
    roles: RESERVE,
    params: SaleParams,
    responses: { 200: { description: 'The reservation', schema: ReservationSchema }, 404: { description: 'No reservation for this sale' } },
    handler: async ({ params, auth }) => {
      const row = await withTenant(pool, auth.tenantId, (db) => findReservation(db, auth.tenantId, params.saleId));
      if (!row || (row.store_id && !canActInStore(auth, row.store_id))) throw notFound('Reservation');
      return reservationView(row);
    },
  });

  table.add({
    method: 'delete',
    path: '/api/v1/stock/reservations/:saleId',
    summary: "Release a sale's stock (idempotent; leaves a tombstone so a late reserve is refused)",
    tags,
    roles: RESERVE,
    params: SaleParams,
    responses: { 200: { description: 'Released', schema: ReservationSchema } },
    handler: ({ params, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        if (await claimTombstone(db, auth.tenantId, params.saleId)) return reservationView((await findReservation(db, auth.tenantId, params.saleId))!);
        const row = (await findReservation(db, auth.tenantId, params.saleId, true))!;
        if (row.store_id && !canActInStore(auth, row.store_id)) throw notFound('Reservation');
        if (row.status === 'reserved') {
          await recordMovements(db, {
            tenantId: auth.tenantId,
            storeId: row.store_id!,
            kind: 'sale_release',
            lines: row.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
            allowNegative: true,
            pastFact: true,
            actorId: auth.userId,
            reference: { type: 'sale', id: params.saleId },
          });
          await markReleased(db, auth.tenantId, params.saleId);
        }
        return reservationView((await findReservation(db, auth.tenantId, params.saleId))!);
      }),
  });

  table.add({
    method: 'post',
    path: '/api/v1/stock/returns',
    summary: 'Put returned goods back on hand (refund with restock)',
    tags,
    roles: ['owner', 'manager', 'service'],
    headers: IdempotencyKeyHeader,
    before: [idempotent],
    body: ReturnBody,
    responses: { 201: { description: 'Returned', schema: z.object({ referenceId: z.string(), storeId: z.string(), lines: z.array(z.object({ productId: z.string(), quantity: z.number(), onHand: z.number() })) }) } },
    handler: async ({ body, auth }) => {
      const store = await storeFor(auth, body.storeId);
      return withTenant(pool, auth.tenantId, async (db) => {
        const result = await recordMovements(db, {
          tenantId: auth.tenantId,
          storeId: store.id,
          kind: 'return',
          lines: body.lines,
          allowNegative: true,
          pastFact: true,
          actorId: auth.userId,
          reason: body.reason ?? null,
          reference: { type: 'return', id: body.referenceId },
        });
        const after = new Map(result.changes.map((c) => [c.productId, c.after]));
        return { referenceId: body.referenceId, storeId: store.id, lines: body.lines.map((l) => ({ ...l, onHand: after.get(l.productId)! })) };
      });
    },
  });
}
