import { minorUnits } from '@pos/types';

/**
 * Loyalty arithmetic (pure; all integers).
 *
 * Earning: `pointsPerUnit` points per whole currency unit of net spend, rounded down:
 * floor(netSpend × pointsPerUnit / 10^minorUnits). Net spend is the sale total less what was paid
 * with loyalty points (points are not earned on points).
 *
 * Reversal: after refunds totalling `refunded` of a sale's `total`, the points due back are
 * floor(earned × refunded / total) — rounding down, so reversals never exceed what was earned — and
 * once the sale is fully refunded exactly `earned`, so the last reversal takes the remainder. Each
 * refund reverses the difference between the new and the previous cumulative figure.
 */
export function pointsEarned(netSpendMinor: number, currency: string, pointsPerUnit: number): number {
  if (netSpendMinor <= 0 || pointsPerUnit <= 0) return 0;
  const scale = 10n ** BigInt(minorUnits(currency));
  return Number((BigInt(netSpendMinor) * BigInt(pointsPerUnit)) / scale);
}

/** The cumulative points due back once `refunded` of `total` has been refunded. */
export function pointsDueBack(earned: number, refunded: number, total: number): number {
  if (earned <= 0 || refunded <= 0) return 0;
  if (total <= 0 || refunded >= total) return earned;
  return Number((BigInt(earned) * BigInt(refunded)) / BigInt(total));
}

/**
 * What a reversal actually takes: never more than the balance (which never goes below zero).
 * `shortfall` is what could not be taken back because the points were already spent.
 */
export function reversal(due: number, balance: number): { points: number; shortfall: number } {
  const points = Math.min(Math.max(due, 0), Math.max(balance, 0));
  return { points, shortfall: Math.max(due, 0) - points };
}
