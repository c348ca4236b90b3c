import type { RequestHandler } from 'express';
import { ProblemError, badRequest, type Logger } from '@pos/utils';
import { findCardData } from '../domain/card-data';
import { Deadline } from '../processor';

/**
 * Refuses any request carrying card data (a card number anywhere in the body, query, path or
 * Idempotency-Key, or a field named like a card number or security code) with 400
 * `card_data_refused`. It runs before the idempotency middleware, so nothing of the request is
 * stored, and it logs the field's path only, never its value.
 */
export function refuseCardData(logger: Logger): RequestHandler {
  return (req, _res, next) => {
    const inBody = findCardData(req.body);
    const inQuery = findCardData(req.query);
    const inParams = findCardData(req.params);
    const key = req.get('Idempotency-Key');
    const inKey = key !== undefined && findCardData(key) ? 'headers.idempotency-key' : undefined;
    const where = inBody ?? (inQuery && `query.${inQuery}`) ?? (inParams && `params.${inParams}`) ?? inKey;
    if (!where) return next();
    logger.warn('request refused: it carries card data', { field: where, route: `${req.method} ${String(req.route?.path ?? '')}` });
    next(
      badRequest(
        'Card numbers and security codes are never accepted: send a processor token (cardToken), or for a standalone terminal its auth code, brand and last 4 digits',
        [{ path: where, message: 'must not contain card data' }],
        'card_data_refused',
      ),
    );
  };
}

/**
 * Runs a payment handler under PAYMENT_HANDLER_TIMEOUT_MS. The work itself plans its processor
 * calls within the deadline; should it still overrun, the caller gets 503 `payment_timeout` (outcome
 * unknown: read the payment by its key or void it by key) and the late result is only logged.
 */
export async function withHandlerTimeout<T>(ms: number, logger: Logger, work: (deadline: Deadline) => Promise<T>): Promise<T> {
  const deadline = Deadline.in(ms);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const running = work(deadline);
  running.catch((err: unknown) => {
    if (timedOut && !(err instanceof ProblemError)) logger.error('payment work failed after its handler timed out', { err: err instanceof Error ? err.message : String(err) });
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(
        new ProblemError(
          503,
          'payment_timeout',
          'Service Unavailable',
          `The payment did not finish within ${ms} ms; its outcome is unknown. Read it by its Idempotency-Key or void it by key`,
          undefined,
          { 'Retry-After': '1' },
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
