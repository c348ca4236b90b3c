/**
 * The register's HTTP client: the gateway's REST API on the same origin. It keeps the session
 * (access + refresh token) in sessionStorage, refreshes an expired access token once with the
 * refresh token (single flight, so parallel calls share one refresh) and, when that fails too, ends
 * the session ("expired") so the UI logs out. Errors come back as ApiError with the RFC 9457
 * problem; a request that never got an answer is `network: true` (the gateway is unreachable).
 */

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: Array<{ path: string; message: string }>;
  requestId?: string;
  [extra: string]: unknown;
}

export interface User {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  role: 'owner' | 'manager' | 'cashier';
  storeIds: string[];
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
  user: User;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    /** True when no answer arrived at all (offline, gateway down, connection reset). */
    readonly network = false,
  ) {
    super(problem?.detail ?? problem?.title ?? (network ? 'The server cannot be reached' : `HTTP ${status}`));
    this.name = 'ApiError';
  }

  get code(): string | undefined {
    return this.problem?.code;
  }

  /** The request may or may not have been carried out: a retry must reuse its Idempotency-Key. */
  get outcomeUnknown(): boolean {
    return this.network || this.status >= 500 || this.status === 429 || this.code === 'sale_in_progress';
  }
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  /** Answer as text instead of JSON. */
  text?: boolean;
  signal?: AbortSignal;
  /** Public endpoint: no token, no refresh. */
  anonymous?: boolean;
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

interface SessionBody {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

export type SessionEndReason = 'expired' | 'logout';

export interface ApiOptions {
  fetch?: typeof fetch;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  baseUrl?: string;
  now?: () => number;
  /** Called once when the session ends (refresh refused, or logout). */
  onSessionEnded?: (reason: SessionEndReason) => void;
  /** Called whenever a request got an answer (online) or none (offline). */
  onReachability?: (online: boolean) => void;
}

const SESSION_KEY = 'pos.session';

export class Api {
  private readonly fetchImpl: typeof fetch;
  private readonly storage: ApiOptions['storage'];
  private readonly baseUrl: string;
  private readonly now: () => number;
  private refreshing: Promise<boolean> | null = null;
  session: Session | null = null;

  constructor(private readonly options: ApiOptions = {}) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.storage = options.storage;
    this.baseUrl = options.baseUrl ?? '';
    this.now = options.now ?? Date.now;
    const saved = this.storage?.getItem(SESSION_KEY);
    if (saved) {
      try {
        this.session = JSON.parse(saved) as Session;
      } catch {
        this.storage?.removeItem(SESSION_KEY);
      }
    }
  }

  private setSession(body: SessionBody | null): void {
    this.session = body ? { accessToken: body.accessToken, refreshToken: body.refreshToken, expiresAt: this.now() + body.expiresIn * 1000, user: body.user } : null;
    if (this.session) this.storage?.setItem(SESSION_KEY, JSON.stringify(this.session));
    else this.storage?.removeItem(SESSION_KEY);
  }

  async login(email: string, password: string): Promise<Session> {
    const res = await this.request<SessionBody>('POST', '/api/v1/auth/login', { body: { email, password }, anonymous: true });
    this.setSession(res.data);
    return this.session!;
  }

  async pinLogin(input: { tenantId: string; storeId: string; email: string; pin: string }): Promise<Session> {
    const res = await this.request<SessionBody>('POST', '/api/v1/auth/pin-login', { body: input, anonymous: true });
    this.setSession(res.data);
    return this.session!;
  }

  /** Revokes the refresh token (best effort: offline, the session just ends here). */
  async logout(): Promise<void> {
    const refreshToken = this.session?.refreshToken;
    this.setSession(null);
    if (refreshToken) await this.request('POST', '/api/v1/auth/logout', { body: { refreshToken }, anonymous: true, timeoutMs: 3_000 }).catch(() => undefined);
    this.options.onSessionEnded?.('logout');
  }

  /**
   * Swaps the refresh token for a new pair. False when the server refused it (the session is over);
   * throws a network ApiError when it could not ask (keep the session: we may just be offline).
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const refreshToken = this.session?.refreshToken;
      this.refreshing = (async () => {
        if (!refreshToken) return false;
        try {
          const res = await this.request<SessionBody>('POST', '/api/v1/auth/refresh', { body: { refreshToken }, anonymous: true });
          this.setSession(res.data);
          return true;
        } catch (err) {
          if (err instanceof ApiError && !err.network && err.status < 500) {
            this.setSession(null);
            this.options.onSessionEnded?.('expired');
            return false;
          }
          throw err;
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    if (!options.anonymous && !this.session) throw new ApiError(401, { status: 401, code: 'not_logged_in', detail: 'Log in first' });
    // Refresh a little before expiry instead of taking a 401 first (and never while a refresh runs).
    if (!options.anonymous && this.session && this.session.expiresAt - this.now() < 15_000) {
      await this.refresh().catch(() => undefined);
      if (!this.session) throw sessionExpired();
    }
    let res = await this.send(method, path, options);
    if (res.status === 401 && !options.anonymous && this.session) {
      const used = this.session.accessToken;
      // Another call may have refreshed meanwhile: then just retry with the new token.
      const ok = this.session.accessToken !== used || (await this.refresh());
      if (!ok) throw sessionExpired();
      res = await this.send(method, path, options);
      if (res.status === 401) {
        this.setSession(null);
        this.options.onSessionEnded?.('expired');
        throw sessionExpired();
      }
    }
    const type = res.headers.get('content-type') ?? '';
    const payload: unknown = options.text && res.ok ? await res.text() : type.includes('json') ? await res.json().catch(() => undefined) : await res.text().catch(() => undefined);
    if (!res.ok) {
      const problem = (payload && typeof payload === 'object' ? payload : { status: res.status, detail: typeof payload === 'string' && payload ? payload.slice(0, 200) : undefined }) as Problem;
      throw new ApiError(res.status, { ...problem, status: res.status });
    }
    return { status: res.status, data: payload as T, headers: res.headers };
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: options.text ? 'text/plain, text/html' : 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    if (!options.anonymous && this.session) headers.authorization = `Bearer ${this.session.accessToken}`;
    const signals = [options.signal, AbortSignal.timeout(options.timeoutMs ?? 20_000)].filter((s): s is AbortSignal => Boolean(s));
    try {
      const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
        cache: 'no-store',
      });
      // A gateway that answers is reachable even when a service behind it is down.
      this.options.onReachability?.(true);
      return res;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      this.options.onReachability?.(false);
      throw new ApiError(0, { status: 0, code: 'network_error', detail: 'The server cannot be reached' }, true);
    }
  }

  get<T>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options).then((r) => r.data);
  }

  post<T>(path: string, body: unknown, options: Omit<RequestOptions, 'body'> = {}) {
    return this.request<T>('POST', path, { ...options, body }).then((r) => r.data);
  }
}

function sessionExpired(): ApiError {
  return new ApiError(401, { status: 401, code: 'session_expired', detail: 'Your session has expired; please log in again' });
}

/** A uuid for Idempotency-Keys (crypto.randomUUID needs a secure context; localhost is one). */
export function newKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
