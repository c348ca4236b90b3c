import type { RequestHandler } from 'express';
import { ProblemError, cardDataPaths, type Logger } from '@pos/utils';

/**
 * Refuses a request with a card number (or a field named like one) anywhere in its body or query —
 * a name, a note, a redemption reference — with 400 `card_data_refused` naming the fields. It runs
 * before validation and before the idempotency middleware, so nothing of it is stored; only the
 * field paths are logged, never the values.
 */
export function refuseCardData(logger: Logger): RequestHandler {
  return (req, _res, next) => {
    const paths = [...cardDataPaths(req.body ?? {}), ...cardDataPaths(req.query ?? {}).map((p) => `query.${p}`)];
    if (!paths.length) return next();
    logger.warn('request refused: it carries card data', { fields: paths, route: `${req.method} ${String(req.route?.path ?? '')}` });
    next(
      new ProblemError(
        400,
        'card_data_refused',
        'Bad Request',
        'Card numbers and security codes must never be stored with a customer',
        paths.map((path) => ({ path, message: 'looks like card data and was refused' })),
      ),
    );
  };
}
