/** Keys whose values never reach a log line or an audit record. */
const SECRET_KEY = /pass(word)?|secret|token|authori[sz]ation|cookie|^pin$|pin_?hash|cvv|cvc|card_?number|^pan$|private_?key|api_?key|signature/i;

// 13-19 digits, contiguous or in groups of 4 (Amex 4-6-5) separated by single spaces or dashes.
const CARD_CANDIDATE = /\b(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{5})\b/g;

/** Major card brands start with 2-6 (Mastercard 2-series, Amex, Visa, Mastercard, Discover/UnionPay). */
function looksLikeCard(digits: string): boolean {
  return /^[2-6]/.test(digits) && digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length >= 13 && sum % 10 === 0;
}

/** True when the text holds something that looks like a payment card number (13–19 digits of a major brand, passing Luhn). */
export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(CARD_CANDIDATE)) {
    if (looksLikeCard(match[0].replace(/[ -]/g, ''))) return true;
  }
  return false;
}

/** Replaces every card-number-looking run with its last four digits. */
export function maskCardNumbers(text: string): string {
  return text.replace(CARD_CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return looksLikeCard(digits) ? `[card ****${digits.slice(-4)}]` : match;
  });
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy with secret-named fields replaced and card numbers masked; safe for logs and audit. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return maskCardNumbers(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    if (value instanceof Error) return { name: value.name, message: maskCardNumbers(value.message) };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSecretKey(k) ? '[REDACTED]' : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

const CARD_FIELD = /^(cvv2?|cvc2?|csc|card_?number|pan|security_?code)$/i;

/**
 * Paths of a request body that carry card data: a card number in any string, or a field named like
 * a card number or security code. Such a request is refused before anything is stored or logged.
 * Walks the value with an explicit stack (depth-first, in document order), so a body nested
 * thousands of levels deep is checked instead of overflowing the call stack.
 */
export function cardDataPaths(value: unknown, path = ''): string[] {
  const found: string[] = [];
  // [value, path, named]: `named` marks a field refused for its name alone.
  const stack: Array<[unknown, string, boolean]> = [[value, path, false]];
  while (stack.length) {
    const [v, p, named] = stack.pop()!;
    if (named) {
      found.push(p);
      continue;
    }
    if (typeof v === 'string') {
      if (containsCardNumber(v)) found.push(p || 'body');
      continue;
    }
    const children: Array<[unknown, string, boolean]> = [];
    if (Array.isArray(v)) {
      v.forEach((item, i) => children.push([item, p ? `${p}.${i}` : String(i), false]));
    } else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        const child = p ? `${p}.${k}` : k;
        children.push([item, child, CARD_FIELD.test(k)]);
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return found;
}
