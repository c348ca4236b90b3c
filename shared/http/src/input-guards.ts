import type { RequestHandler } from 'express';
import { ProblemError, cardDataPaths, type Logger } from '@pos/utils';

// U+0000 cannot be stored in a Postgres text or jsonb value, and an unpaired UTF-16 surrogate is
// not Unicode at all (jsonb refuses it, text silently turns it into U+FFFD).
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Paths of every string (or object key) in `value` holding a NUL character or an unpaired surrogate. */
export function unsafeTextPaths(value: unknown, path = '', depth = 0): string[] {
  if (depth > 64) return [];
  if (typeof value === 'string') return UNSAFE_TEXT.test(value) ? [path || 'body'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unsafeTextPaths(v, path ? `${path}.${i}` : String(i), depth + 1));
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
      const p = path ? `${path}.${k}` : k;
      return UNSAFE_TEXT.test(k) ? [p] : unsafeTextPaths(v, p, depth + 1);
    });
  }
  return [];
}

/**
 * Refuses a body or query string with text no database can keep (NUL, unpaired surrogates) with
 * 400 `invalid_text` naming each field, instead of letting it fail deep in SQL as a 500.
 */
export const refuseUnsafeText: RequestHandler = (req, _res, next) => {
  const paths = [...unsafeTextPaths(req.body), ...unsafeTextPaths(req.query ?? {}).map((p) => `query.${p}`)];
  if (!paths.length) return next();
  next(
    new ProblemError(
      400,
      'invalid_text',
      'Bad Request',
      'Text must not contain NUL characters or unpaired surrogates',
      paths.map((path) => ({ path, message: 'contains a NUL character or an unpaired surrogate' })),
    ),
  );
};

export interface CardDataGuardOptions {
  /** Field names whose values are codes, not free text (a barcode may pass the Luhn check). */
  ignoreFields?: readonly string[];
  logger?: Logger;
}

/**
 * Refuses a body carrying card data (a Luhn-valid card number in any string, or a field named like
 * a card number or security code) with 400 `card_data_refused` naming the fields, before anything
 * is stored or logged; only the field paths are logged, never the values.
 */
export function refuseCardData(options: CardDataGuardOptions = {}): RequestHandler {
  const ignore = new Set(options.ignoreFields ?? []);
  // Code fields sit near the top of a body; deeper levels are left as they are (and fully checked).
  const strip = (value: unknown, depth = 0): unknown => {
    if (depth > 8) return value;
    if (Array.isArray(value)) return value.map((v) => strip(v, depth + 1));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => (ignore.has(k) ? [] : [[k, strip(v, depth + 1)]])));
    }
    return value;
  };
  return (req, _res, next) => {
    if (req.body === undefined || req.body === null) return next();
    const paths = cardDataPaths(ignore.size ? strip(req.body) : req.body);
    if (!paths.length) return next();
    options.logger?.warn('request refused: it carries card data', { fields: paths, method: req.method, path: req.path });
    next(
      new ProblemError(
        400,
        'card_data_refused',
        'Bad Request',
        'Card numbers and security codes must never be sent here; take card payments with a card token or the card terminal',
        paths.map((path) => ({ path, message: 'looks like card data and was refused' })),
      ),
    );
  };
}
