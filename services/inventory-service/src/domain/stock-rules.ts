/** Pure stock rules: what a set of movements does to on-hand levels, and when to raise alerts. */

export interface LevelState {
  productId: string;
  onHand: number;
  reorderPoint: number;
}

export interface Shortage {
  productId: string;
  requested: number;
  available: number;
}

export interface PlannedChange {
  productId: string;
  delta: number;
  before: number;
  after: number;
  /** on-hand crossed the reorder point downwards with this change */
  crossedReorderPoint: boolean;
}

/** Sums quantities per product, so two lines of one product are checked together. */
export function mergeLines(lines: ReadonlyArray<{ productId: string; quantity: number }>): Map<string, number> {
  const merged = new Map<string, number>();
  for (const line of lines) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  return merged;
}

/** Low means at or below the reorder point; a reorder point of 0 means "no alert configured". */
export function crossedReorderPoint(before: number, after: number, reorderPoint: number): boolean {
  return reorderPoint > 0 && before > reorderPoint && after <= reorderPoint;
}

/**
 * Plans signed deltas against current levels. Decreases that would take on-hand below zero are
 * shortages unless negative stock is allowed (physical retail often sells what the system thinks
 * it does not have).
 */
export function planChanges(
  levels: ReadonlyMap<string, LevelState>,
  deltas: ReadonlyMap<string, number>,
  allowNegative: boolean,
): { changes: PlannedChange[]; shortages: Shortage[] } {
  const changes: PlannedChange[] = [];
  const shortages: Shortage[] = [];
  for (const [productId, delta] of deltas) {
    const level = levels.get(productId) ?? { productId, onHand: 0, reorderPoint: 0 };
    const after = level.onHand + delta;
    if (delta < 0 && after < 0 && !allowNegative) {
      shortages.push({ productId, requested: -delta, available: Math.max(0, level.onHand) });
      continue;
    }
    changes.push({ productId, delta, before: level.onHand, after, crossedReorderPoint: crossedReorderPoint(level.onHand, after, level.reorderPoint) });
  }
  return { changes, shortages };
}
