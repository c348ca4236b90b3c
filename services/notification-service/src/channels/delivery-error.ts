/**
 * A failed send. `permanent` failures (a refused recipient, an expired push subscription, a missing
 * address) are not retried: the delivery is marked failed at once.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}

export const permanentError = (message: string) => new DeliveryError(message, true);
export const retryableError = (message: string, cause?: unknown) => new DeliveryError(message, false, { cause });

/** A short, single-line error text for the delivery log (never a stack, never a body). */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, ' ').trim().slice(0, 500) || 'unknown error';
}
