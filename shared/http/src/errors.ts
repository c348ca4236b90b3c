import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ProblemError, currentContext, type Logger, type FieldError } from '@pos/utils';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function sendProblem(res: Response, problem: ProblemError): void {
  const body: Record<string, unknown> = {
    type: `https://docs.cloud-pos.dev/problems/${problem.code.replace(/_/g, '-')}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail ?? problem.title,
    code: problem.code,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...(problem.extra ?? {}),
    requestId: currentContext()?.requestId ?? res.getHeader('x-request-id'),
  };
  for (const [name, value] of Object.entries(problem.headers ?? {})) res.setHeader(name, value);
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, new ProblemError(404, 'route_not_found', 'Not Found', `No route ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** The one error handler: known errors become problem+json; anything else a 500 without details. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof ProblemError) {
      if (err.status >= 500) logger.error('request failed', { err: err.message, code: err.code, path: req.path });
      return sendProblem(res, err);
    }
    const parserError = err as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      return sendProblem(res, new ProblemError(413, 'payload_too_large', 'Content Too Large', 'The request body is larger than this endpoint accepts'));
    }
    if (parserError?.type === 'entity.parse.failed') {
      return sendProblem(res, new ProblemError(400, 'malformed_json', 'Bad Request', 'The request body is not valid JSON', [{ path: 'body', message: 'is not valid JSON' }]));
    }
    // A path parameter with broken percent-encoding (`/users/%E0%A4%A`): the router could not decode it.
    if (err instanceof URIError) {
      return sendProblem(res, new ProblemError(400, 'malformed_uri', 'Bad Request', 'The request path is not validly percent-encoded'));
    }
    if (parserError?.expose && typeof parserError.status === 'number' && parserError.status < 500) {
      return sendProblem(res, new ProblemError(parserError.status, 'bad_request', 'Bad Request', 'The request could not be read'));
    }
    logger.error('unhandled error', { err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err), path: req.path });
    return sendProblem(res, new ProblemError(500, 'internal_error', 'Internal Server Error', 'Something went wrong; the request id identifies it in our logs'));
  };
}

interface ZodIssueLike {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
  keys?: ReadonlyArray<string>;
}

export function fieldErrorsFromZod(issues: ReadonlyArray<ZodIssueLike>, prefix?: string): FieldError[] {
  return issues.flatMap((issue) => {
    // An unknown field is reported on the field itself, not on its parent object.
    if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
      return issue.keys.map((key) => ({ path: [prefix, ...issue.path.map(String), key].filter(Boolean).join('.'), message: 'is not an accepted field' }));
    }
    const parts = issue.path.map(String);
    const path = [prefix, ...parts].filter(Boolean).join('.') || prefix || 'body';
    return [{ path, message: issue.message }];
  });
}
