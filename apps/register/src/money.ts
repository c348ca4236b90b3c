/**
 * Money at the register: integer minor units everywhere (POS-DESIGN §3), never floats. Formatting
 * and parsing go through strings so that "12.30" is 1230 cents exactly.
 */

export interface Money {
  amount: number;
  currency: string;
}

const digitsCache = new Map<string, number>();

/** Minor-unit digits of an ISO 4217 currency (USD 2, JPY 0, BHD 3), from the runtime's ICU data. */
export function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** The amount as a plain decimal string without grouping or symbol: 1230 USD -> "12.30", -5 -> "-0.05". */
export function toDecimalString(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  const negative = amount < 0;
  const abs = String(Math.abs(amount)).padStart(digits + 1, '0');
  const whole = digits ? abs.slice(0, -digits) : abs;
  const fraction = digits ? abs.slice(-digits) : '';
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A display string with the currency symbol: 1230 USD -> "$12.30". */
export function formatMoney(amount: number, currency: string, locale?: string): string {
  const digits = minorDigits(currency);
  const decimal = toDecimalString(amount, currency);
  try {
    // The decimal string keeps the value exact; Intl only adds the symbol and grouping.
    return new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
      decimal as unknown as number,
    );
  } catch {
    return `${decimal} ${currency}`;
  }
}

export const fmt = (m: Money | null | undefined, locale?: string): string => (m ? formatMoney(m.amount, m.currency, locale) : '');

/**
 * Parses what a cashier types ("12", "12.3", "12.30", "1,234.50", "$5") into minor units. Returns
 * null for anything that is not a non-negative amount with at most the currency's minor digits.
 */
export function parseMoney(input: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const cleaned = input.trim().replace(/[\s$€£¥]/g, '').replace(/,(?=\d{3}(\D|$))/g, '');
  const match = /^(\d*)(?:[.,](\d*))?$/.exec(cleaned);
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) return null;
  const whole = match[1] || '0';
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  const amount = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(amount) ? amount : null;
}

/** Next "round" cash amounts a customer is likely to hand over for `due` (exact first). */
export function cashSuggestions(due: number, currency: string): number[] {
  const unit = 10 ** minorDigits(currency);
  const out = [due];
  for (const note of [1, 5, 10, 20, 50, 100]) {
    const step = note * unit;
    const next = Math.ceil(due / step) * step;
    if (next > due && !out.includes(next)) out.push(next);
    if (out.length >= 4) break;
  }
  return out;
}
