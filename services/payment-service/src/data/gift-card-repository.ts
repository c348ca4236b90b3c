import type { Queryable } from '@pos/database';

export interface GiftCardRow {
  id: string;
  tenant_id: string;
  code_hash: string;
  last4: string;
  currency: string;
  balance: number;
  active: boolean;
  created_by: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type LedgerKind = 'issue' | 'load' | 'redeem' | 'refund' | 'void';

export const giftCardView = (c: GiftCardRow) => ({
  id: c.id,
  last4: c.last4,
  balance: { amount: c.balance, currency: c.currency },
  active: c.active,
  createdAt: c.created_at.toISOString(),
});

/** Inserts a card with a zero balance (the issue entry brings the money); undefined if the code is taken. */
export async function insertGiftCard(db: Queryable, c: { id: string; tenantId: string; codeHash: string; last4: string; currency: string; createdBy: string }): Promise<GiftCardRow | undefined> {
  const { rows } = await db.query<GiftCardRow>(
    `INSERT INTO payments.gift_cards (id, tenant_id, code_hash, last4, currency, balance, created_by)
     VALUES ($1, $2, $3, $4, $5, 0, $6)
     ON CONFLICT (tenant_id, code_hash) DO NOTHING RETURNING *`,
    [c.id, c.tenantId, c.codeHash, c.last4, c.currency, c.createdBy],
  );
  return rows[0];
}

export async function findGiftCardByHash(db: Queryable, tenantId: string, codeHash: string, forUpdate = false): Promise<GiftCardRow | undefined> {
  const { rows } = await db.query<GiftCardRow>(`SELECT * FROM payments.gift_cards WHERE tenant_id = $1 AND code_hash = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, codeHash]);
  return rows[0];
}

export async function findGiftCard(db: Queryable, tenantId: string, id: string, forUpdate = false): Promise<GiftCardRow | undefined> {
  const { rows } = await db.query<GiftCardRow>(`SELECT * FROM payments.gift_cards WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

/**
 * Appends a ledger entry and sets the card's balance to match, in the caller's transaction. The
 * caller holds the card's row lock (FOR UPDATE) and has checked the rule; the CHECK constraints
 * (balance >= 0) are the last line of defence.
 */
export async function applyLedgerEntry(
  db: Queryable,
  card: GiftCardRow,
  e: { id: string; kind: LedgerKind; amount: number; paymentId?: string | null; refundId?: string | null; actorId: string },
): Promise<GiftCardRow> {
  const balanceAfter = card.balance + e.amount;
  await db.query(
    `INSERT INTO payments.gift_card_ledger (id, tenant_id, gift_card_id, kind, amount, balance_after, payment_id, refund_id, actor_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [e.id, card.tenant_id, card.id, e.kind, e.amount, balanceAfter, e.paymentId ?? null, e.refundId ?? null, e.actorId],
  );
  const { rows } = await db.query<GiftCardRow>(
    'UPDATE payments.gift_cards SET balance = $3, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING *',
    [card.tenant_id, card.id, balanceAfter],
  );
  return rows[0]!;
}
