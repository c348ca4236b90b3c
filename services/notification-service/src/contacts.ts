import { ServiceClient, type ServiceTokens } from '@pos/http';
import type { Logger } from '@pos/utils';
import { DeliveryError } from './channels/delivery-error';

export interface Customer {
  id: string;
  name: string;
  email: string | null;
}

export interface StoreManagers {
  emails: string[];
  /** auth-service refused the lookup (403): only the tenant's configured recipients are used. */
  refused: boolean;
}

/**
 * Contact details owned by other services (POS-DESIGN §11: looked up with a service token):
 * customers at customer-service, store managers and store names at auth-service. Network errors and
 * 5xx surface as UpstreamUnavailableError (the worker retries them with backoff).
 */
export class ContactDirectory {
  private readonly customers: ServiceClient;
  private readonly auth: ServiceClient;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(
    options: { customerServiceUrl: string; authServiceUrl: string; tokens: ServiceTokens; timeoutMs: number; logger: Logger; fetchImpl?: typeof fetch },
  ) {
    this.customers = new ServiceClient(options.customerServiceUrl, options.tokens, options.fetchImpl);
    this.auth = new ServiceClient(options.authServiceUrl, options.tokens, options.fetchImpl);
    this.timeoutMs = options.timeoutMs;
    this.logger = options.logger;
  }

  /** The customer, or null when customer-service does not know them (deleted, another tenant). */
  async customer(tenantId: string, customerId: string): Promise<Customer | null> {
    const res = await this.customers.call<{ id?: string; name?: unknown; email?: unknown }>('GET', `/api/v1/customers/${encodeURIComponent(customerId)}`, { tenantId, timeoutMs: this.timeoutMs });
    if (res.status === 404) return null;
    if (res.status !== 200 || !res.body) throw new DeliveryError(`customer lookup answered ${res.status}`, false);
    return {
      id: customerId,
      name: typeof res.body.name === 'string' ? res.body.name : '',
      email: typeof res.body.email === 'string' && res.body.email ? res.body.email : null,
    };
  }

  /** Email addresses of the active managers of a store (auth-service `GET /users?storeId&role=manager`). */
  async storeManagers(tenantId: string, storeId: string): Promise<StoreManagers> {
    const emails: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const query = new URLSearchParams({ storeId, role: 'manager', active: 'true', limit: '200' });
      if (cursor) query.set('cursor', cursor);
      const res = await this.auth.call<{ data?: Array<{ email?: unknown; active?: unknown }>; nextCursor?: string | null }>('GET', `/api/v1/users?${query}`, {
        tenantId,
        timeoutMs: this.timeoutMs,
      });
      if (res.status === 403 || res.status === 401) {
        this.logger.warn('auth-service refused the store-manager lookup; sending only to the configured low-stock recipients', { tenantId, storeId, status: res.status });
        return { emails, refused: true };
      }
      if (res.status !== 200 || !res.body) throw new DeliveryError(`store manager lookup answered ${res.status}`, false);
      for (const u of res.body.data ?? []) if (typeof u.email === 'string' && u.active !== false) emails.push(u.email);
      cursor = res.body.nextCursor ?? null;
      if (!cursor) break;
    }
    return { emails, refused: false };
  }

  /** The store's name for messages; null when it cannot be read (the message then shows no name). */
  async storeName(tenantId: string, storeId: string): Promise<string | null> {
    try {
      const res = await this.auth.call<{ name?: unknown }>('GET', `/api/v1/stores/${encodeURIComponent(storeId)}`, { tenantId, timeoutMs: this.timeoutMs });
      return res.status === 200 && typeof res.body?.name === 'string' ? res.body.name : null;
    } catch {
      return null;
    }
  }
}
