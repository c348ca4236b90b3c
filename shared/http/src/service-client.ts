import { currentContext } from '@pos/utils';

/**
 * Service-to-service calls (POS-DESIGN §11 "Service identity"): a short-lived `service` token per
 * tenant from auth-service's client-credentials endpoint, cached until shortly before it expires.
 * The cache is only an optimisation: each replica may hold its own copy.
 */
export class ServiceTokens {
  private readonly cache = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    private readonly options: { authServiceUrl: string; clientId: string; clientSecret: string; fetchImpl?: typeof fetch },
  ) {}

  async get(tenantId: string): Promise<string> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.expiresAt > Date.now() + 30_000) return hit.token;
    const res = await (this.options.fetchImpl ?? fetch)(`${this.options.authServiceUrl.replace(/\/+$/, '')}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret, tenantId }),
      signal: AbortSignal.timeout(3_000),
    });
    if (!res.ok) throw new UpstreamUnavailableError(`service token refused by auth-service (${res.status})`);
    const body = (await res.json()) as { accessToken: string; expiresIn: number };
    this.cache.set(tenantId, { token: body.accessToken, expiresAt: Date.now() + body.expiresIn * 1000 });
    return body.accessToken;
  }
}

/** The call's outcome is unknown (network error, timeout, 5xx): never assume it did not happen. */
export class UpstreamUnavailableError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'UpstreamUnavailableError';
  }
}

export interface UpstreamResponse<T = unknown> {
  status: number;
  body: T;
}

export interface CallOptions {
  tenantId: string;
  body?: unknown;
  idempotencyKey?: string;
  timeoutMs: number;
}

/** JSON calls to another service with a service token, the request id, and a hard timeout. */
export class ServiceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: ServiceTokens,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async call<T = unknown>(method: string, path: string, options: CallOptions): Promise<UpstreamResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.tokens.get(options.tenantId)}` };
    const requestId = currentContext()?.requestId;
    if (requestId) headers['x-request-id'] = requestId;
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw new UpstreamUnavailableError(`${method} ${path} failed: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (res.status >= 500) throw new UpstreamUnavailableError(`${method} ${path} answered ${res.status}`, res.status);
    return { status: res.status, body: body as T };
  }
}
