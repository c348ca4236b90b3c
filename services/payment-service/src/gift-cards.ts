import { randomUUID } from 'node:crypto';
import type { Money } from '@pos/types';
import { withTenant } from '@pos/database';
import type { AuthContext } from '@pos/http';
import { badRequest, conflict, notFound } from '@pos/utils';
import type { PaymentDeps } from './deps';
import { applyLedgerEntry, findGiftCardByHash, insertGiftCard, type GiftCardRow } from './data/gift-card-repository';
import { generateGiftCardCode, giftCardLast4, hashGiftCardCode, normalizeGiftCardCode } from './domain/gift-card-code';

/**
 * Gift cards: the balance is the sum of the card's ledger (issue, load, redeem, refund, void) and is
 * kept on the card row in the same transaction as each entry, under the card's row lock.
 * Redemption happens as a `gift_card` payment (payments.ts).
 */
export class GiftCards {
  constructor(private readonly deps: PaymentDeps) {}

  private hash(code: string): string {
    return hashGiftCardCode(this.deps.config.GIFT_CARD_CODE_SECRET, code);
  }

  /** Issues a card; the full code is returned here and never again. */
  async issue(auth: AuthContext, body: { initialBalance: Money; code?: string }): Promise<{ card: GiftCardRow; code: string }> {
    const given = body.code !== undefined ? normalizeGiftCardCode(body.code) : undefined;
    if (given !== undefined && given.length < 4) throw badRequest('The gift card code is too short', [{ path: 'code', message: 'must have at least 4 letters or digits' }]);
    return withTenant(this.deps.pool, auth.tenantId, async (db) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const code = given ?? generateGiftCardCode();
        const card = await insertGiftCard(db, {
          id: randomUUID(),
          tenantId: auth.tenantId,
          codeHash: this.hash(code),
          last4: giftCardLast4(code),
          currency: body.initialBalance.currency,
          createdBy: auth.userId,
        });
        if (!card) {
          if (given !== undefined) throw conflict('A gift card with this code already exists', 'gift_card_code_taken');
          continue; // a generated code collided (practically never): draw another
        }
        const issued = body.initialBalance.amount > 0 ? await applyLedgerEntry(db, card, { id: randomUUID(), kind: 'issue', amount: body.initialBalance.amount, actorId: auth.userId }) : card;
        return { card: issued, code };
      }
      throw conflict('Could not generate a unique gift card code; retry', 'gift_card_code_taken');
    });
  }

  async get(auth: AuthContext, code: string): Promise<GiftCardRow> {
    const card = await withTenant(this.deps.pool, auth.tenantId, (db) => findGiftCardByHash(db, auth.tenantId, this.hash(code)));
    if (!card) throw notFound('Gift card');
    return card;
  }

  async load(auth: AuthContext, code: string, amount: Money): Promise<GiftCardRow> {
    return withTenant(this.deps.pool, auth.tenantId, async (db) => {
      const card = await findGiftCardByHash(db, auth.tenantId, this.hash(code), true);
      if (!card) throw notFound('Gift card');
      if (!card.active) throw conflict('The gift card is not active', 'gift_card_inactive');
      if (card.currency !== amount.currency) throw badRequest('The amount must be in the card currency', [{ path: 'amount.currency', message: `must be ${card.currency}` }], 'currency_mismatch');
      return applyLedgerEntry(db, card, { id: randomUUID(), kind: 'load', amount: amount.amount, actorId: auth.userId });
    });
  }
}
