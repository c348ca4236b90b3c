import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { ProblemSchema, type Role, type z } from '@pos/types';
import { badRequest, forbidden } from '@pos/utils';
import { authenticate, type AuthContext, type TokenVerifier } from './auth';
import { fieldErrorsFromZod } from './errors';

type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyZod = z.ZodTypeAny;
type Infer<S> = S extends AnyZod ? z.infer<S> : undefined;

export interface RouteContext<B, Q, P> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: P;
  /** Present on every route that is not public. */
  auth: AuthContext;
}

export interface RouteSpec<BS extends AnyZod | undefined, QS extends AnyZod | undefined, PS extends AnyZod | undefined> {
  method: HttpMethod;
  /** Express-style path: `/api/v1/users/:id`. */
  path: string;
  summary: string;
  tags?: string[];
  /** Allowed roles, or 'public' for routes that need no token. The route table is the single source of truth. */
  roles: readonly Role[] | 'public';
  body?: BS;
  query?: QS;
  params?: PS;
  /** Extra request headers to document (e.g. Idempotency-Key). */
  headers?: z.ZodObject<z.ZodRawShape>;
  /** Documented responses; 2xx ones may carry a schema. Standard problem responses are added automatically. */
  responses: Record<number, { description: string; schema?: AnyZod; contentType?: string }>;
  /** Runs after authentication and before validation (e.g. idempotency). */
  before?: Array<(req: Request, res: Response, next: NextFunction) => void>;
  handler: (ctx: RouteContext<Infer<BS>, Infer<QS>, Infer<PS>>) => Promise<unknown> | unknown;
}

export interface RouteInfo {
  method: HttpMethod;
  path: string;
  roles: readonly Role[] | 'public';
  summary: string;
}

function parsePart(schema: AnyZod | undefined, value: unknown, prefix: string | undefined) {
  if (!schema) return { ok: true as const, data: undefined };
  const result = schema.safeParse(value ?? (prefix === undefined ? undefined : {}));
  if (result.success) return { ok: true as const, data: result.data as unknown };
  return { ok: false as const, errors: fieldErrorsFromZod(result.error.issues, prefix) };
}

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * Declares routes once: each declaration mounts the Express handler (token check, role check, zod
 * validation of params/query/body) and registers the same zod schemas in the OpenAPI registry.
 * A handler's return value is sent as JSON with the first 2xx status declared; return undefined to
 * take over the response yourself.
 */
export class RouteTable {
  readonly router: Router = express.Router();
  private readonly table: RouteInfo[] = [];

  constructor(
    private readonly registry: OpenAPIRegistry,
    private readonly verifier: TokenVerifier | undefined,
  ) {}

  get routes(): readonly RouteInfo[] {
    return this.table;
  }

  add<BS extends AnyZod | undefined = undefined, QS extends AnyZod | undefined = undefined, PS extends AnyZod | undefined = undefined>(
    spec: RouteSpec<BS, QS, PS>,
  ): this {
    this.table.push({ method: spec.method, path: spec.path, roles: spec.roles, summary: spec.summary });
    this.register(spec);

    const handlers: Array<(req: Request, res: Response, next: NextFunction) => void> = [];
    if (spec.roles !== 'public') {
      if (!this.verifier) throw new Error(`route ${spec.method.toUpperCase()} ${spec.path} needs a token verifier`);
      handlers.push(authenticate(this.verifier));
      const roles = spec.roles;
      handlers.push((req, _res, next) => next(req.auth && roles.includes(req.auth.role) ? undefined : forbidden()));
    }
    handlers.push(...(spec.before ?? []));
    const successStatus = Number(Object.keys(spec.responses).find((s) => Number(s) >= 200 && Number(s) < 300) ?? 200);

    handlers.push((req, res, next) => {
      const params = parsePart(spec.params, req.params, 'params');
      const query = parsePart(spec.query, req.query, 'query');
      const body = parsePart(spec.body, req.body, undefined);
      const errors = [...(params.ok ? [] : params.errors), ...(query.ok ? [] : query.errors), ...(body.ok ? [] : body.errors)];
      if (errors.length) return next(badRequest('The request has invalid fields', errors));
      Promise.resolve()
        .then(() =>
          spec.handler({
            req,
            res,
            body: body.data as Infer<BS>,
            query: query.data as Infer<QS>,
            params: params.data as Infer<PS>,
            auth: req.auth as AuthContext,
          }),
        )
        .then((result) => {
          if (result === undefined || res.headersSent) return;
          res.status(successStatus).json(result);
        })
        .catch(next);
    });
    this.router[spec.method](spec.path, ...handlers);
    return this;
  }

  private register(spec: RouteSpec<AnyZod | undefined, AnyZod | undefined, AnyZod | undefined>): void {
    const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });
    const responses: RouteConfig['responses'] = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = r.schema ? { description: r.description, content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : { description: r.description };
    }
    responses['400'] ??= problem('Invalid input: every failing field is named in `errors`');
    if (spec.roles !== 'public') {
      responses['401'] ??= problem('Missing, expired or invalid access token');
      responses['403'] ??= problem('Your role or stores do not allow this');
    }
    const request: RouteConfig['request'] = {};
    if (spec.params) request.params = spec.params as never;
    if (spec.query) request.query = spec.query as never;
    if (spec.headers) request.headers = spec.headers as never;
    if (spec.body) request.body = { required: true, content: { 'application/json': { schema: spec.body } } };
    this.registry.registerPath({
      method: spec.method,
      path: toOpenApiPath(spec.path),
      summary: spec.summary,
      description: spec.roles === 'public' ? 'Public.' : `Roles: ${spec.roles.join(', ')}.`,
      tags: spec.tags,
      security: spec.roles === 'public' ? [] : [{ bearerAuth: [] }],
      request,
      responses,
    });
  }
}
