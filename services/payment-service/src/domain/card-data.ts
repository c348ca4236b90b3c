import { containsCardNumber } from '@pos/utils';

/*
 * Card data never enters payment-service: a request that carries a card number anywhere, or a field
 * named like a card number or security code, is refused before anything is stored or logged. Only a
 * processor token, the brand and the last four digits are ever accepted.
 */

/** Field names that only ever hold card data, at any depth. */
const CARD_FIELD = /^(cvv2?|cvc2?|cid|csc|security_?code|card_?number|card_?no|pan|primary_?account_?number|track_?[12]?(_?data)?|mag_?stripe|expiry_?and_?pan)$/i;
/** `number` is card data inside an object that names a card (`card`, `creditCard`, `paymentCard`…). */
const CARD_CONTAINER = /card/i;
const MAX_DEPTH = 32;

const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

/** A number that could be a card number read as JSON: an integer of 13–19 digits. */
function numberLooksLikeCard(n: number): boolean {
  if (!Number.isInteger(n) || n < 0) return false;
  const digits = BigInt(n).toString();
  return containsCardNumber(digits);
}

/**
 * The path of the first place in `value` holding card data, or undefined when there is none. The
 * path names the field only; the value is never returned, so callers can report it safely.
 */
export function findCardData(value: unknown, path = '', parentKey = '', depth = 0): string | undefined {
  if (depth > MAX_DEPTH) return path || 'body';
  if (typeof value === 'string') return containsCardNumber(value) ? path || 'body' : undefined;
  if (typeof value === 'number') return numberLooksLikeCard(value) ? path || 'body' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findCardData(value[i], join(path, i), parentKey, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const here = join(path, key);
      if (containsCardNumber(key)) return join(path, '[key]');
      if (CARD_FIELD.test(key)) return here;
      if (/^number$/i.test(key) && CARD_CONTAINER.test(parentKey)) return here;
      const found = findCardData(item, here, key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
