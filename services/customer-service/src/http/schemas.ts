import { ListQuerySchema, MoneySchema, listResponse, z } from '@pos/types';
import { normalisePhone } from '../domain/phone';

export const Uuid = z.string().uuid('must be a uuid');
const Name = z.string().trim().min(1, 'is required').max(200);
const Notes = z.string().trim().max(2000);
export const Email = z.string().trim().toLowerCase().max(254).email('must be an email address');
const Points = z.number().int('must be a whole number of points').min(1, 'must be at least 1').max(1_000_000_000);
export const IdempotencyKeyParam = z.string().min(1).max(255).regex(/^[\x21-\x7E]+$/, 'must be visible ASCII characters');

/** A phone number as typed, normalised to E.164 in the default country (400 naming the field when it cannot be). */
export function phoneSchema(defaultCountry: string) {
  return z
    .string()
    .max(40)
    .transform((value, ctx) => {
      const result = normalisePhone(value, defaultCountry);
      if (result.ok) return result.e164;
      ctx.addIssue({ code: 'custom', message: `is not a valid phone number: ${result.reason}` });
      return z.NEVER;
    })
    .openapi({ description: `Any common notation; stored in E.164. Numbers without +/00 are read as ${defaultCountry} numbers.`, example: '+14155550100' });
}

const ConsentInput = z
  .object({ email: z.boolean().optional(), sms: z.boolean().optional() })
  .strict()
  .openapi('MarketingConsentInput', { description: 'true gives, false withdraws (or declines) consent; the time is recorded.' });

const ConsentState = z.object({ granted: z.boolean(), changedAt: z.string().nullable() });

export const CustomerSchema = z
  .object({
    id: Uuid,
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    notes: z.string().nullable(),
    marketingConsent: z.object({ email: ConsentState, sms: ConsentState }),
    loyaltyBalance: z.number().int(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    erasedAt: z.string().nullable(),
  })
  .openapi('Customer');

export function customerBodies(defaultCountry: string) {
  const Phone = phoneSchema(defaultCountry);
  const CreateCustomerBody = z
    .object({
      name: Name,
      email: Email.nullable().optional(),
      phone: Phone.nullable().optional(),
      notes: Notes.nullable().optional(),
      marketingConsent: ConsentInput.optional(),
    })
    .strict()
    .openapi('CreateCustomerRequest');
  const UpdateCustomerBody = z
    .object({
      version: z.number().int().positive(),
      name: Name.optional(),
      email: Email.nullable().optional(),
      phone: Phone.nullable().optional(),
      notes: Notes.nullable().optional(),
      marketingConsent: ConsentInput.optional(),
    })
    .strict()
    .openapi('UpdateCustomerRequest');
  const CustomerListQuery = ListQuerySchema.extend({
    q: z.string().trim().min(1).max(100).optional().openapi({ description: 'Part of the name, email or phone (case- and accent-insensitive)' }),
    email: Email.optional(),
    phone: Phone.optional(),
  });
  return { CreateCustomerBody, UpdateCustomerBody, CustomerListQuery };
}

export const IdParams = z.object({ id: Uuid });
export const RedemptionParams = z.object({ id: Uuid, key: IdempotencyKeyParam });
export const CustomerList = listResponse(CustomerSchema).openapi('CustomerList');

export const HistoryEntrySchema = z
  .object({
    saleId: Uuid,
    storeId: Uuid,
    receiptNumber: z.number().int().nullable(),
    status: z.enum(['completed', 'partially_refunded', 'refunded', 'voided']),
    total: MoneySchema,
    refundedTotal: MoneySchema,
    netTotal: MoneySchema,
    occurredAt: z.string(),
    businessDate: z.string(),
    loyalty: z.object({ pointsEarned: z.number().int(), pointsReversed: z.number().int() }),
    refunds: z.array(z.object({ refundId: Uuid, total: MoneySchema, occurredAt: z.string() })),
  })
  .openapi('CustomerTransaction');
export const HistoryList = listResponse(HistoryEntrySchema).openapi('CustomerTransactionList');

export const LedgerEntrySchema = z
  .object({
    id: Uuid,
    kind: z.enum(['earn', 'reverse', 'redeem', 'redeem_refund', 'adjust']),
    points: z.number().int(),
    balanceAfter: z.number().int(),
    saleId: Uuid.nullable(),
    key: z.string().nullable(),
    redemptionId: Uuid.nullable(),
    reference: z.string().nullable(),
    note: z.string().nullable(),
    actorId: z.string(),
    createdAt: z.string(),
  })
  .openapi('LoyaltyLedgerEntry');

export const LoyaltySchema = z
  .object({ customerId: Uuid, balance: z.number().int(), ledger: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() })
  .openapi('CustomerLoyalty');

export const RedemptionBody = z
  .object({ points: Points, reference: z.string().trim().min(1, 'is required').max(200) })
  .strict()
  .openapi('LoyaltyRedemptionRequest');

export const RedemptionSchema = z
  .object({
    id: Uuid,
    customerId: Uuid,
    key: z.string(),
    points: z.number().int(),
    balanceAfter: z.number().int(),
    reference: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('LoyaltyRedemption');

export const RedemptionStateSchema = z
  .object({
    key: z.string(),
    customerId: Uuid,
    status: z.enum(['redeemed', 'partially_refunded', 'refunded', 'voided']),
    redemptionId: Uuid.nullable(),
    points: z.number().int(),
    refundedPoints: z.number().int(),
    createdAt: z.string().nullable(),
  })
  .openapi('LoyaltyRedemptionState');

export const RedemptionRefundBody = z
  .object({
    points: Points.optional().openapi({ description: 'Points to give back; omitted: everything not yet given back' }),
    reason: z.string().trim().max(200).optional(),
  })
  .strict()
  .optional()
  .openapi('LoyaltyRedemptionRefundRequest');

export const RedemptionRefundSchema = z
  .object({
    redemptionId: Uuid.nullable(),
    key: z.string(),
    status: z.enum(['redeemed', 'partially_refunded', 'refunded', 'voided']),
    points: z.number().int().openapi({ description: 'Points given back by this call (0 when there was nothing to give back)' }),
    redeemedPoints: z.number().int(),
    refundedPoints: z.number().int(),
    balance: z.number().int(),
    entryId: Uuid.nullable(),
  })
  .openapi('LoyaltyRedemptionRefund');

export const AdjustmentBody = z
  .object({
    points: z.number().int().min(-1_000_000_000).max(1_000_000_000).refine((p) => p !== 0, 'must not be zero'),
    reason: z.string().trim().min(1, 'is required').max(200),
  })
  .strict()
  .openapi('LoyaltyAdjustmentRequest');

export const RuleSchema = z
  .object({
    pointsPerUnit: z.number().int(),
    version: z.number().int(),
    source: z.enum(['default', 'tenant']),
    updatedAt: z.string().nullable(),
  })
  .openapi('LoyaltyRule');

export const PutRuleBody = z
  .object({
    version: z.number().int().min(0).openapi({ description: 'The version from GET (0 while the service default applies)' }),
    pointsPerUnit: z.number().int().min(0).max(1000).openapi({ description: 'Points per whole currency unit of net spend (0 turns earning off)' }),
  })
  .strict()
  .openapi('LoyaltyRuleRequest');

export const ExportSchema = z
  .object({
    exportedAt: z.string(),
    customer: CustomerSchema,
    consents: z.object({
      email: ConsentState,
      sms: ConsentState,
      history: z.array(z.object({ channel: z.enum(['email', 'sms']), granted: z.boolean(), actorId: z.string(), changedAt: z.string() })),
    }),
    purchaseHistory: z.object({
      totals: z.array(z.object({ currency: z.string(), sales: z.number().int(), total: z.number().int(), refunded: z.number().int() })),
      transactions: z.array(HistoryEntrySchema),
    }),
    loyalty: z.object({ balance: z.number().int(), ledger: z.array(LedgerEntrySchema) }),
  })
  .openapi('CustomerExport');
