import type { FieldError } from './types';

/**
 * An error that becomes an RFC 9457 problem+json response. Domain code throws these; the central
 * error handler in @pos/http turns them into responses. Anything else is a 500 with no details.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail ?? title);
    this.name = 'ProblemError';
  }
}

export const badRequest = (detail: string, errors?: FieldError[], code = 'validation_failed') =>
  new ProblemError(400, code, 'Bad Request', detail, errors);
export const unauthorized = (detail = 'Authentication is required', code = 'unauthorized') =>
  new ProblemError(401, code, 'Unauthorized', detail);
export const forbidden = (detail = 'Your role does not allow this action', code = 'forbidden') =>
  new ProblemError(403, code, 'Forbidden', detail);
export const notFound = (what = 'Resource', code = 'not_found') =>
  new ProblemError(404, code, 'Not Found', `${what} was not found`);
export const conflict = (detail: string, code = 'conflict', extra?: Record<string, unknown>) =>
  new ProblemError(409, code, 'Conflict', detail, undefined, undefined, extra);
export const unprocessable = (detail: string, code = 'unprocessable') =>
  new ProblemError(422, code, 'Unprocessable Content', detail);
export const tooManyRequests = (detail: string, retryAfterSeconds: number, code = 'too_many_requests') =>
  new ProblemError(429, code, 'Too Many Requests', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });
export const serviceUnavailable = (detail: string, code = 'service_unavailable') =>
  new ProblemError(503, code, 'Service Unavailable', detail);

/** A stale `version` on an update. */
export const versionConflict = (current: number) =>
  conflict(`The record was changed by someone else (current version ${current}); reload and retry`, 'version_conflict', {
    currentVersion: current,
  });
