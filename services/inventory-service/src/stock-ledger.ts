import { EVENTS } from '@pos/types';
import type { Queryable } from '@pos/database';
import { writeEvent } from '@pos/events';
import { badRequest, conflict } from '@pos/utils';
import { findProductsByIds } from './data/product-repository';
import { applyMovements, lockLevels, type LevelRow, type MovementRow } from './data/stock-repository';
import { mergeLines, planChanges, type PlannedChange } from './domain/stock-rules';

export const SCHEMA = 'inventory';

export type MovementKind = 'receive' | 'sale' | 'sale_release' | 'return' | 'adjustment' | 'count' | 'transfer_out' | 'transfer_in' | 'damage';

export interface LedgerEntry {
  tenantId: string;
  storeId: string;
  kind: MovementKind;
  /** Signed quantities: negative takes stock out. */
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
  allowNegative: boolean;
  /**
   * The movement records goods that already moved, so a product deleted since still counts: an
   * offline sale's reservation, a release (it undoes a sale), a refund's restock (it follows one).
   * Never derived from `kind`: a stock adjustment with reason "return" is a new movement.
   */
  pastFact?: boolean;
  actorId: string;
  reason?: string | null;
  reference?: { type: string; id: string } | null;
}

export interface LedgerResult {
  changes: Array<PlannedChange & { levelId: string }>;
  levels: Map<string, LevelRow>;
  movements: MovementRow[];
}

/**
 * The one way stock changes: lock the levels, check, append movements, update on-hand and write
 * stock.changed (and stock.low on a downward crossing of the reorder point) in the caller's
 * transaction. On-hand therefore always equals the sum of the movements.
 */
export async function recordMovements(db: Queryable, entry: LedgerEntry): Promise<LedgerResult> {
  const deltas = new Map([...mergeLines(entry.lines)].filter(([, q]) => q !== 0));
  const productIds = [...deltas.keys()];
  const products = await findProductsByIds(db, entry.tenantId, productIds, entry.pastFact === true);
  const unknown = entry.lines.flatMap((l, i) => (products.has(l.productId) ? [] : [{ path: `lines.${i}.productId`, message: 'is not a product of this tenant' }]));
  if (unknown.length) throw badRequest('Some products do not exist', unknown, 'unknown_product');

  const levels = await lockLevels(db, entry.tenantId, entry.storeId, productIds);
  const state = new Map([...levels].map(([pid, l]) => [pid, { productId: pid, onHand: l.on_hand, reorderPoint: l.reorder_point }]));
  const { changes, shortages } = planChanges(state, deltas, entry.allowNegative);
  if (shortages.length) {
    throw conflict(
      `Not enough stock for ${shortages.map((s) => products.get(s.productId)?.sku ?? s.productId).join(', ')}`,
      'insufficient_stock',
      { shortages: shortages.map((s) => ({ ...s, sku: products.get(s.productId)?.sku })) },
    );
  }

  const withLevels = changes.map((c) => ({ ...c, levelId: levels.get(c.productId)!.id }));
  const movements = await applyMovements(
    db,
    entry.tenantId,
    entry.storeId,
    entry.kind,
    withLevels.map((c) => ({ levelId: c.levelId, productId: c.productId, quantity: c.delta, onHandAfter: c.after })),
    { actorId: entry.actorId, reason: entry.reason, reference: entry.reference },
  );
  if (withLevels.length) {
    await writeEvent(db, {
      schema: SCHEMA,
      type: EVENTS.stockChanged,
      tenantId: entry.tenantId,
      data: { storeId: entry.storeId, kind: entry.kind, reference: entry.reference ?? null, changes: withLevels.map((c) => ({ productId: c.productId, delta: c.delta, onHand: c.after })) },
    });
  }
  for (const c of withLevels.filter((x) => x.crossedReorderPoint)) {
    const product = products.get(c.productId)!;
    await writeEvent(db, {
      schema: SCHEMA,
      type: EVENTS.stockLow,
      tenantId: entry.tenantId,
      data: { storeId: entry.storeId, productId: c.productId, sku: product.sku, name: product.name, onHand: c.after, reorderPoint: levels.get(c.productId)!.reorder_point },
    });
  }
  for (const c of withLevels) {
    const level = levels.get(c.productId)!;
    level.on_hand = c.after;
  }
  return { changes: withLevels, levels, movements };
}
