import type { GatewayConfig } from './config';

/** The services behind the gateway, with the config variable that holds each one's base URL. */
export const UPSTREAMS = {
  'auth-service': 'AUTH_SERVICE_URL',
  'transaction-service': 'TRANSACTION_SERVICE_URL',
  'inventory-service': 'INVENTORY_SERVICE_URL',
  'payment-service': 'PAYMENT_SERVICE_URL',
  'customer-service': 'CUSTOMER_SERVICE_URL',
  'notification-service': 'NOTIFICATION_SERVICE_URL',
} as const satisfies Record<string, keyof GatewayConfig>;

export type UpstreamName = keyof typeof UPSTREAMS;
export const UPSTREAM_NAMES = Object.keys(UPSTREAMS) as UpstreamName[];

export function upstreamUrl(config: GatewayConfig, service: UpstreamName): string {
  return config[UPSTREAMS[service]];
}

export interface GatewayRoute {
  /** `/api/v1/products` matches `/api/v1/products` and everything below it, never `/api/v1/productsx`. */
  prefix: string;
  service: UpstreamName;
  /** Match the path exactly instead of as a prefix. */
  exact?: boolean;
}

/**
 * The gateway's routing table, the single source of truth for which service owns which path.
 * Paths are forwarded unchanged: every service serves the same `/api/v1/...` paths itself.
 * `/api/v1/live/*` is deliberately absent: it is reserved for the gateway's own live feed.
 */
export const ROUTES: readonly GatewayRoute[] = [
  { prefix: '/api/v1/auth', service: 'auth-service' },
  { prefix: '/api/v1/users', service: 'auth-service' },
  { prefix: '/api/v1/stores', service: 'auth-service' },
  { prefix: '/api/v1/audit', service: 'auth-service' },
  { prefix: '/.well-known/jwks.json', service: 'auth-service', exact: true },
  { prefix: '/api/v1/transactions', service: 'transaction-service' },
  { prefix: '/api/v1/shifts', service: 'transaction-service' },
  // Both the Postgres reports and the Mongo analytics (POS-DESIGN §11 "Caches").
  { prefix: '/api/v1/reports', service: 'transaction-service' },
  { prefix: '/api/v1/products', service: 'inventory-service' },
  { prefix: '/api/v1/categories', service: 'inventory-service' },
  { prefix: '/api/v1/inventory', service: 'inventory-service' },
  { prefix: '/api/v1/stock', service: 'inventory-service' },
  { prefix: '/api/v1/payments', service: 'payment-service' },
  { prefix: '/api/v1/gift-cards', service: 'payment-service' },
  { prefix: '/api/v1/customers', service: 'customer-service' },
  // The tenant's loyalty rule (points per currency unit) lives with the customers' ledgers.
  { prefix: '/api/v1/loyalty', service: 'customer-service' },
  { prefix: '/api/v1/notifications', service: 'notification-service' },
];

/** The Express path pattern that mounts a route (path-to-regexp 8 syntax). */
export function routePattern(route: GatewayRoute): string {
  return route.exact ? route.prefix : `${route.prefix}{/*rest}`;
}

interface PathRule {
  /** HTTP method, or '*' for any. GET also admits HEAD. */
  method: string;
  path: string;
  /** Everything below `path` too. */
  prefix?: boolean;
}

/** Reachable without an access token; everything else is verified at the gateway (and again upstream). */
export const PUBLIC_ROUTES: readonly PathRule[] = [
  { method: 'POST', path: '/api/v1/auth/register' },
  { method: 'POST', path: '/api/v1/auth/login' },
  { method: 'POST', path: '/api/v1/auth/pin-login' },
  { method: 'POST', path: '/api/v1/auth/refresh' },
  // Logout revokes by refresh token; a terminal whose access token expired must still be able to.
  { method: 'POST', path: '/api/v1/auth/logout' },
  { method: 'POST', path: '/api/v1/auth/password-reset' },
  { method: 'POST', path: '/api/v1/auth/password-reset/confirm' },
  // Client credentials: services exchange their id and secret for a short-lived token here.
  { method: 'POST', path: '/api/v1/auth/token' },
  // Provider redirects and callbacks arrive from a browser without our token.
  { method: '*', path: '/api/v1/auth/oauth', prefix: true },
  { method: 'GET', path: '/.well-known/jwks.json' },
];

/** Credential-guessing targets: these get the much lower per-IP limit on top of the normal ones. */
export const LOGIN_ROUTES: readonly PathRule[] = [
  { method: 'POST', path: '/api/v1/auth/login' },
  { method: 'POST', path: '/api/v1/auth/pin-login' },
  { method: 'POST', path: '/api/v1/auth/token' },
  { method: 'POST', path: '/api/v1/auth/password-reset' },
  { method: 'POST', path: '/api/v1/auth/password-reset/confirm' },
];

// Dot segments and encoded slashes/dots could make the upstream see a different path from the one
// checked here; such a path is never treated as public (it still works with a valid token).
const AMBIGUOUS_PATH = /(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i;

function matchesRule(rule: PathRule, method: string, path: string): boolean {
  const methodOk = rule.method === '*' || rule.method === method || (rule.method === 'GET' && method === 'HEAD');
  return methodOk && (path === rule.path || (rule.prefix === true && path.startsWith(`${rule.path}/`)));
}

function matchesAny(rules: readonly PathRule[], method: string, path: string): boolean {
  if (AMBIGUOUS_PATH.test(path)) return false;
  // Express routes (here and upstream) ignore case and one trailing slash, so these checks do too:
  // otherwise `/api/v1/auth/Login/` would reach the login handler without the login rate limit.
  let normalized = path.toLowerCase();
  if (normalized.length > 1 && normalized.endsWith('/')) normalized = normalized.slice(0, -1);
  return rules.some((rule) => matchesRule(rule, method.toUpperCase(), normalized));
}

export const isPublicRoute = (method: string, path: string) => matchesAny(PUBLIC_ROUTES, method, path);
export const isLoginRoute = (method: string, path: string) => matchesAny(LOGIN_ROUTES, method, path);

/** Paths whose bodies may exceed MAX_BODY_BYTES, with the config variable of their own limit. */
export const LARGE_BODY_PATHS: Readonly<Record<string, 'IMPORT_MAX_BODY_BYTES'>> = {
  // Up to 10,000 catalog rows in one all-or-nothing import.
  '/api/v1/products/import': 'IMPORT_MAX_BODY_BYTES',
};

export function bodyLimitFor(config: GatewayConfig): (path: string) => number {
  return (path) => {
    const large = LARGE_BODY_PATHS[path.replace(/\/+$/, '').toLowerCase()];
    return large ? config[large] : config.MAX_BODY_BYTES;
  };
}
