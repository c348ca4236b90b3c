import { IdempotencyKeyHeader, idempotency, type RouteTable } from '@pos/http';
import type { PaymentDeps } from '../deps';
import { SCHEMA } from '../data/schema';
import { giftCardView } from '../data/gift-card-repository';
import { GiftCards } from '../gift-cards';
import { refuseCardData } from './guards';
import { CodeParams, GiftCardSchema, IssueGiftCardBody, IssuedGiftCardSchema, LoadGiftCardBody } from './schemas';

const tags = ['gift cards'];
const MANAGE = ['owner', 'manager'] as const;

export function giftCardRoutes(table: RouteTable, deps: PaymentDeps): void {
  const giftCards = new GiftCards(deps);
  const idempotent = idempotency({ pool: deps.pool, schema: SCHEMA, logger: deps.logger });
  const noCardData = refuseCardData(deps.logger);

  table.add({
    method: 'post',
    path: '/api/v1/gift-cards',
    summary: 'Issue a gift card with an initial balance; the full code is returned once',
    tags,
    roles: MANAGE,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    body: IssueGiftCardBody,
    responses: {
      201: { description: 'The card with its full code (only ever shown here)', schema: IssuedGiftCardSchema },
      409: { description: '`gift_card_code_taken`' },
    },
    handler: async ({ body, auth }) => {
      const { card, code } = await giftCards.issue(auth, body);
      return { ...giftCardView(card), code };
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/gift-cards/:code',
    summary: 'Balance of a gift card by its code',
    tags,
    roles: ['owner', 'manager', 'cashier', 'service'],
    before: [noCardData],
    params: CodeParams,
    responses: { 200: { description: 'The card', schema: GiftCardSchema }, 404: { description: 'No gift card has this code' } },
    handler: async ({ params, auth }) => giftCardView(await giftCards.get(auth, params.code)),
  });

  table.add({
    method: 'post',
    path: '/api/v1/gift-cards/:code/load',
    summary: 'Add money to a gift card',
    tags,
    roles: MANAGE,
    headers: IdempotencyKeyHeader,
    before: [noCardData, idempotent],
    params: CodeParams,
    body: LoadGiftCardBody,
    responses: {
      200: { description: 'The card with its new balance', schema: GiftCardSchema },
      404: { description: 'No gift card has this code' },
      409: { description: '`gift_card_inactive`' },
    },
    handler: async ({ params, body, auth }) => giftCardView(await giftCards.load(auth, params.code, body.amount)),
  });
}
