#!/usr/bin/env node
// Support for proof/security/sqlmap.sh (never run in CI). Talks to a running local stack through its
// gateway on 127.0.0.1 only.
//
//   node sqlmap-targets.mjs setup <gatewayUrl>            registers a throwaway tenant with a store,
//        category, product, customer, shift and a cash sale, then prints JSON {refreshToken, targets}:
//        one target per parameterised GET route of the OpenAPI documents the gateway serves at
//        /api-docs/specs/<service>.json, with real ids in the path and `*` marking where to inject.
//   node sqlmap-targets.mjs token <gatewayUrl> <refreshToken>   prints JSON {accessToken, refreshToken}
//        (rotated), so every sqlmap run starts with a fresh 15-minute token.
const [command, gateway, refreshArg] = process.argv.slice(2);
const SERVICES = ['auth-service', 'transaction-service', 'inventory-service', 'payment-service', 'customer-service', 'notification-service'];

function assertLocal(url) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`refusing to attack ${host}: sqlmap runs against 127.0.0.1 only`);
}

async function call(method, path, { token, body, headers = {} } = {}) {
  // A busy local machine may answer 5xx now and then (database out of connections): try again.
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${gateway}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 500 && attempt < 4) {
      await new Promise((r) => setTimeout(r, 2_000 * attempt));
      continue;
    }
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

async function setup() {
  const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const reg = await call('POST', '/api/v1/auth/register', {
    body: { tenantName: `sqlmap ${tag}`, storeName: 'Main', email: `sqlmap-${tag}@sweep.test`, password: `sqlmap passphrase ${tag}`, name: 'Sqlmap Owner' },
  });
  const token = reg.accessToken;
  const storeId = reg.store.id;
  const key = (what) => ({ 'idempotency-key': `sqlmap-${what}-${tag}` });
  const category = await call('POST', '/api/v1/categories', { token, body: { name: 'Sqlmap category' } });
  const product = await call('POST', '/api/v1/products', { token, body: { sku: `SQLMAP-${tag}`, name: 'Sqlmap product', barcodes: [`9${String(Date.now()).slice(-11)}`], price: { amount: 500, currency: 'USD' }, taxRateBps: 0, categoryId: category.id } });
  await call('POST', '/api/v1/stock/adjustments', { token, headers: key('receive'), body: { storeId, productId: product.id, quantity: 10, reason: 'receive' } });
  const customer = await call('POST', '/api/v1/customers', { token, body: { name: 'Sqlmap customer', email: `sqlmap-customer-${tag}@sweep.test` } });
  const shift = await call('POST', '/api/v1/shifts', { token, body: { storeId, openingFloat: { amount: 1000, currency: 'USD' } } });
  const sale = await call('POST', '/api/v1/transactions', { token, headers: key('sale'), body: { storeId, customerId: customer.id, lines: [{ productId: product.id, quantity: 1 }], tenders: [{ method: 'cash', amount: { amount: 500, currency: 'USD' } }] } });
  const refund = await call('POST', `/api/v1/transactions/${sale.id}/refunds`, { token, headers: key('refund'), body: { lines: [{ lineId: sale.lines[0].id, quantity: 1 }], restock: true, reason: 'sqlmap' } });
  await call('POST', `/api/v1/customers/${customer.id}/loyalty/adjustments`, { token, headers: key('points'), body: { points: 100, reason: 'sqlmap' } });
  const redemptionKey = `sqlmap-redeem-${tag}`;
  await call('POST', `/api/v1/customers/${customer.id}/loyalty/redemptions`, { token, headers: { 'idempotency-key': redemptionKey }, body: { points: 10, reference: 'sqlmap' } });
  const delivery = await call('POST', '/api/v1/notifications/email', { token, headers: key('mail'), body: { to: `sqlmap-mailbox-${tag}@sweep.test`, subject: 'sqlmap', text: 'sqlmap' } });
  const levels = await call('GET', `/api/v1/inventory?storeId=${storeId}&productId=${product.id}`, { token });
  const gift = await call('POST', '/api/v1/gift-cards', { token, headers: key('gift'), body: { initialBalance: { amount: 1000, currency: 'USD' } } });

  // A real value for every parameter name the specs use, so each request reaches the handler.
  const values = {
    id: undefined,
    storeId,
    productId: product.id,
    categoryId: category.id,
    customerId: customer.id,
    transactionId: sale.id,
    saleId: sale.id,
    userId: reg.user.id,
    cashierId: reg.user.id,
    actor: reg.user.id,
    refundId: refund.id,
    code: gift.code,
    key: redemptionKey,
    name: 'receipt',
    barcode: product.barcodes[0],
    sku: product.sku,
    q: 'Sqlmap',
    ids: product.id,
    from: '2025-01-01',
    to: '2030-12-31',
    limit: '5',
  };
  const idFor = { users: reg.user.id, stores: storeId, products: product.id, categories: category.id, inventory: levels.data[0]?.id, transactions: sale.id, shifts: shift.id, payments: sale.tenders[0]?.paymentId, customers: customer.id, 'gift-cards': gift.code, templates: 'receipt', reservations: sale.id, notifications: delivery.id };

  const targets = [];
  for (const service of SERVICES) {
    const doc = await call('GET', `/api-docs/specs/${service}.json`);
    for (const [path, ops] of Object.entries(doc.paths ?? {})) {
      const op = ops.get;
      if (!op) continue;
      const params = op.parameters ?? [];
      const query = params.filter((p) => p.in === 'query');
      const inPath = params.filter((p) => p.in === 'path');
      if (!query.length && !inPath.length) continue;
      const segments = path.split('/');
      const fill = (marker) =>
        segments
          .map((seg, i) => {
            const m = /^\{(.+)\}$/.exec(seg);
            if (!m) return seg;
            const value = m[1] === 'id' ? idFor[segments[i - 1]] : (values[m[1]] ?? idFor[segments[i - 1]]);
            return `${encodeURIComponent(value ?? '00000000-0000-4000-8000-000000000000')}${marker}`;
          })
          .join('/');
      const valueOf = (p) => {
        const schema = p.schema ?? {};
        return String(values[p.name] ?? (Array.isArray(schema.enum) ? schema.enum[0] : schema.format === 'uuid' ? storeId : schema.type === 'integer' ? '5' : 'sqlmap'));
      };
      // The required parameters, always present so the request gets past validation.
      const required = new URLSearchParams(query.filter((p) => p.required).map((p) => [p.name, valueOf(p)]));
      const route = `GET ${path}`;
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      const search = [...required.keys()].length ? `?${required}` : '';
      // Path parameters: `*` marks each one (sqlmap then tests those).
      if (inPath.length) targets.push({ service, route, kind: 'path', url: `${gateway}${fill('*')}${search}`, public: isPublic });
      // Query parameters: one run each (-p), next to the required ones.
      for (const p of query) {
        const qs = new URLSearchParams(required);
        qs.set(p.name, valueOf(p));
        targets.push({ service, route, kind: 'query', param: p.name, url: `${gateway}${fill('')}?${qs}`, public: isPublic });
      }
    }
  }
  return { refreshToken: reg.refreshToken, targets };
}

async function token(refreshToken) {
  const s = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
  return { accessToken: s.accessToken, refreshToken: s.refreshToken };
}

try {
  if (!gateway) throw new Error('usage: sqlmap-targets.mjs setup|token <gatewayUrl> [refreshToken]');
  assertLocal(gateway);
  const out = command === 'setup' ? await setup() : command === 'token' ? await token(refreshArg) : undefined;
  if (!out) throw new Error(`unknown command ${command}`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
