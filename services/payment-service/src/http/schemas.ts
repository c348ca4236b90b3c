import { ListQuerySchema, MoneySchema, listResponse, z } from '@pos/types';
import { PAYMENT_METHODS } from '../domain/payment-rules';

export const Uuid = z.string().uuid('must be a uuid');

const requiredFor = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required for ${what}` : undefined),
});

export const PositiveMoney = MoneySchema.refine((m) => m.amount > 0, { message: 'must be greater than zero', path: ['amount'] });
const NonNegativeMoney = MoneySchema.refine((m) => m.amount >= 0, { message: 'must not be negative', path: ['amount'] });

export const IdempotencyKeyValue = z
  .string()
  .min(1, 'is required')
  .max(255)
  .regex(/^[\x21-\x7E]+$/, 'must be visible ASCII characters');

export const CardToken = z
  .string(requiredFor('card payments'))
  .min(3)
  .max(255)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be a processor token such as tok_visa (never a card number)')
  .openapi({ description: 'A card token from the processor (simulator: tok_visa, tok_mastercard, tok_amex, tok_chargeDeclined, …).', example: 'tok_visa' });

export const GiftCardCode = z
  .string(requiredFor('gift card payments'))
  .trim()
  .min(4, 'must be at least 4 characters')
  .max(64)
  .regex(/^[A-Za-z0-9 -]+$/, 'must be letters, digits, spaces or dashes')
  .openapi({ example: 'KQ7M-2XHD-9PZA-4TRB' });

export const TerminalApproval = z
  .object(
    {
      authCode: z.string().trim().min(1, 'is required').max(64).regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, dots, dashes or underscores'),
      brand: z.string().trim().min(1, 'is required').max(32),
      last4: z.string().regex(/^\d{4}$/, 'must be the last 4 digits of the card'),
    },
    requiredFor('external_card payments'),
  )
  .strict()
  .openapi('TerminalApproval', { description: 'The approval a standalone card terminal printed: auth code, brand and last 4 digits.' });

const common = { transactionId: Uuid, storeId: Uuid, amount: PositiveMoney };

export const LoyaltyCustomerId = z
  .string(requiredFor('loyalty payments'))
  .uuid('must be a uuid')
  .openapi({ description: "The customer whose loyalty points pay (customer-service's customer id)." });

export const ProcessPaymentBody = z
  .discriminatedUnion('method', [
    z.object({ method: z.literal('cash'), ...common }).strict(),
    z.object({ method: z.literal('card'), ...common, cardToken: CardToken }).strict(),
    z.object({ method: z.literal('external_card'), ...common, terminal: TerminalApproval }).strict(),
    z.object({ method: z.literal('gift_card'), ...common, giftCardCode: GiftCardCode }).strict(),
    z.object({ method: z.literal('loyalty'), ...common, customerId: LoyaltyCustomerId }).strict(),
  ], { error: (issue) => (issue.code === 'invalid_union' ? `must be one of ${PAYMENT_METHODS.join(', ')}` : undefined) })
  .openapi('ProcessPaymentRequest', {
    description:
      'One tender of a sale. Each method needs its own field: card -> cardToken, gift_card -> giftCardCode, external_card -> terminal, loyalty -> customerId (the amount must be a whole number of points: a multiple of LOYALTY_POINT_VALUE).',
  });
export type ProcessPaymentInput = z.infer<typeof ProcessPaymentBody>;

const NullableMoney = MoneySchema.nullable();

export const PaymentSchema = z
  .object({
    id: Uuid,
    transactionId: Uuid.nullable(),
    storeId: Uuid.nullable(),
    idempotencyKey: z.string(),
    method: z.enum(PAYMENT_METHODS).nullable(),
    amount: NullableMoney,
    status: z.enum(['pending', 'captured', 'declined', 'failed', 'voided']),
    refundedAmount: NullableMoney,
    card: z.object({ brand: z.string(), last4: z.string() }).nullable(),
    giftCard: z.object({ last4: z.string(), balanceAfter: NullableMoney }).nullable(),
    loyalty: z
      .object({
        customerId: Uuid,
        points: z.number().int().openapi({ description: 'Points this payment redeems (amount / LOYALTY_POINT_VALUE)' }),
        balanceAfter: z.number().int().nullable().openapi({ description: "The customer's points after the redemption (captured) or available when declined" }),
      })
      .nullable(),
    processorRef: z.string().nullable(),
    failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
    tombstone: z.boolean().openapi({ description: 'A void-by-key that found no payment: no money, refuses a late capture with its key.' }),
    voidedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .openapi('Payment', { description: 'A tombstone has null transactionId, storeId, method, amount and refundedAmount.' });

export const PaymentList = listResponse(PaymentSchema).openapi('PaymentList');

export const PaymentListQuery = ListQuerySchema.extend({
  transactionId: Uuid.optional(),
  storeId: Uuid.optional(),
  idempotencyKey: IdempotencyKeyValue.optional(),
  status: z.enum(['pending', 'captured', 'declined', 'failed', 'voided']).optional(),
});

export const RefundBody = z
  .object({ amount: PositiveMoney, reason: z.string().trim().max(500).optional() })
  .strict()
  .openapi('PaymentRefundRequest');

export const RefundSchema = z.object({ id: Uuid, paymentId: Uuid, amount: MoneySchema, createdAt: z.string() }).openapi('PaymentRefund');

export const VoidByKeyBody = z.object({ idempotencyKey: IdempotencyKeyValue }).strict().openapi('VoidByKeyRequest');

export const IdParams = z.object({ id: Uuid });
export const CodeParams = z.object({ code: GiftCardCode });

export const IssueGiftCardBody = z
  .object({ initialBalance: NonNegativeMoney, code: GiftCardCode.optional() })
  .strict()
  .openapi('IssueGiftCardRequest', { description: 'Without `code`, a 16-character code is generated.' });

export const LoadGiftCardBody = z.object({ amount: PositiveMoney }).strict().openapi('LoadGiftCardRequest');

export const GiftCardSchema = z
  .object({ id: Uuid, last4: z.string(), balance: MoneySchema, active: z.boolean(), createdAt: z.string() })
  .openapi('GiftCard');

export const IssuedGiftCardSchema = GiftCardSchema.extend({
  code: z.string().openapi({ description: 'The full code, returned only in this response; only a keyed hash is stored.' }),
}).openapi('IssuedGiftCard');
