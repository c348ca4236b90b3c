// Field values the baseline uses when the schema alone cannot produce an acceptable one: the acting
// tenant's own ids for id fields, and values of the right shape for fields named after well-known
// things. Keyed by field name, never by route, so new routes with the usual names get good bodies.
import { OMIT, mainType, type Hints, type JsonSchema } from './schema';
import { SERVICE_CLIENT, SWEEP_PASSWORD, type Fixtures } from './stack';

// Shapes that satisfy the push subscription's key patterns (base64url of the right length).
const P256DH = `B${'A'.repeat(86)}`;
const AUTH_SECRET = 'A'.repeat(22);

export function hintsFor(ids: Fixtures, next: () => number): Hints {
  const freshUuid = () => `00000000-0000-4000-8000-${next().toString(16).padStart(12, '0')}`;
  return (name: string, schema: JsonSchema): unknown => {
    const type = mainType(schema);
    const isString = type === 'string';
    const format = schema.format;
    if (name === 'cursor') return OMIT;
    if (isString && format === 'uuid') {
      switch (name) {
        case 'storeId':
        case 'fromStoreId':
          return ids.mainStore;
        case 'toStoreId':
          return ids.store;
        case 'productId':
          return ids.product;
        case 'categoryId':
        case 'parentId':
          return ids.category;
        case 'customerId':
          return ids.customer;
        case 'tenantId':
          return ids.tenant;
        case 'userId':
          return ids.user;
        case 'transactionId':
          return ids.sale;
        case 'lineId':
          return ids.saleLine;
        case 'storeIds[]':
          return ids.mainStore;
        // A new sale id to reserve stock under.
        case 'saleId':
          return freshUuid();
        default:
          return undefined;
      }
    }
    if (!isString) return name === 'version' && (type === 'integer' || type === 'number') ? 1 : undefined;
    // Emails are unique across the whole database: a fresh one each time (the tenant id is new every run).
    if (format === 'email') return `sweep-${next()}-${ids.tenant.slice(0, 8)}@sweep.test`;
    if (format === 'date') return name === 'to' ? '2025-01-31' : '2025-01-01';
    if (format === 'date-time') return name === 'to' ? '2025-01-31T23:59:59Z' : '2025-01-01T00:00:00Z';
    switch (name) {
      case 'currency':
        return 'USD';
      case 'timezone':
        return 'UTC';
      case 'country':
        return 'US';
      case 'phone':
        return '+14155550123';
      case 'to':
        return typeof schema.pattern === 'string' ? '+14155550123' : undefined;
      case 'password':
        return SWEEP_PASSWORD;
      case 'pin':
        return '1234';
      case 'refreshToken':
        return 'rt_sweep_not_a_real_refresh_token';
      case 'token':
        return 'sweep_not_a_real_reset_token';
      case 'client_id':
        return SERVICE_CLIENT.id;
      case 'client_secret':
        return 'sweep-wrong-secret';
      case 'cardToken':
        return 'tok_visa';
      case 'giftCardCode':
      case 'code':
        return ids.giftCardCode;
      case 'idempotencyKey':
        return ids.paymentKey;
      case 'last4':
        return '4242';
      case 'authCode':
        return 'AUTH123';
      case 'brand':
        return 'visa';
      case 'endpoint':
        return `https://push.sweep.test/fuzz/${next()}`;
      case 'p256dh':
        return P256DH;
      case 'auth':
        return AUTH_SECRET;
      case 'url':
        return '/sweep';
      case 'template':
        return 'receipt';
      case 'sku':
        return `SWEEP-FUZZ-${next()}`;
      case 'barcode':
        return ids.barcode;
      case 'barcodes[]':
        return `40${String(next()).padStart(10, '0')}`;
      case 'ids':
        return ids.product;
      case 'action':
        return 'security.*';
      case 'resource':
        return 'sale';
      case 'actor':
        return ids.user;
      case 'referenceId':
      case 'reference':
        return `sweep-ref-${next()}`;
      case 'deviceId':
        return 'sweep-device';
      case 'q':
        return 'Sweep';
      default:
        return undefined;
    }
  };
}
