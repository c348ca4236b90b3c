import { z } from './zod';

/** Minor units per ISO 4217 currency; anything not listed has 2. */
const MINOR_UNITS: Record<string, number> = {
  BHD: 3, BIF: 0, CLP: 0, DJF: 0, GNF: 0, IQD: 3, ISK: 0, JOD: 3, JPY: 0, KMF: 0, KRW: 0, KWD: 3,
  LYD: 3, OMR: 3, PYG: 0, RWF: 0, TND: 3, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
};

export function minorUnits(currency: string): number {
  return MINOR_UNITS[currency] ?? 2;
}

export const CurrencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
  .openapi({ example: 'USD' });

export const MoneySchema = z
  .object({
    amount: z.number().int('must be an integer number of minor units').safe(),
    currency: CurrencySchema,
  })
  .strict()
  .openapi('Money', { description: 'An amount in integer minor units (cents) of an ISO 4217 currency.' });

export type Money = z.infer<typeof MoneySchema>;

export function money(amount: number, currency: string): Money {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`money amount must be a safe integer, got ${amount}`);
  return { amount, currency };
}
