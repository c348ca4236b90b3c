import { createPublicKey, type KeyObject } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { ACCESS_TOKEN_AUDIENCE, AccessClaimsSchema, type Role } from '@pos/types';
import { currentContext, forbidden, unauthorized } from '@pos/utils';

export interface AuthContext {
  userId: string;
  tenantId: string;
  role: Role;
  stores: string[];
  tokenId: string;
  token: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    auth?: AuthContext;
  }
}

/** The only algorithm accepted anywhere: pinned, so `alg: none` and HS/RS confusion cannot pass. */
export const ACCESS_TOKEN_ALGORITHM = 'ES256';

export interface VerifierOptions {
  issuer: string;
  audience?: string;
  /** Where the signing keys are published (auth-service's /.well-known/jwks.json). */
  jwksUrl?: string;
  /** Instead of a URL: a function returning the JWKS (auth-service reads its own keys). */
  fetchJwks?: () => Promise<{ keys: unknown[] }>;
  /** Minimum time between two JWKS refetches caused by unknown kids. */
  refetchCooldownMs?: number;
  cacheMaxAgeMs?: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<AuthContext>;
}

const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
const VERIFIED_TOKEN_CACHE_MS = 60_000;

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const { issuer, audience = ACCESS_TOKEN_AUDIENCE, refetchCooldownMs = 10_000, cacheMaxAgeMs = 10 * 60_000 } = options;
  if (!options.jwksUrl && !options.fetchJwks) throw new Error('createTokenVerifier needs jwksUrl or fetchJwks');
  const fetchJwks = options.fetchJwks;
  const client = jwksRsa({
    jwksUri: options.jwksUrl ?? 'local:jwks',
    ...(fetchJwks ? { fetcher: async () => fetchJwks() } : {}),
    cache: true,
    cacheMaxAge: cacheMaxAgeMs,
    cacheMaxEntries: 20,
    // jwks-rsa refetches on an unknown kid; the rate limit is our cooldown so forged kids cannot
    // turn into a flood of JWKS requests.
    rateLimit: true,
    jwksRequestsPerMinute: Math.max(1, Math.floor(60_000 / refetchCooldownMs)),
    timeout: 3_000,
  });

  const parsedKeys = new Map<string, { key: KeyObject; until: number }>();
  // Tokens already verified, by their full text (signature included, so only that exact token
  // matches), until they expire but for at most a minute: one checkout presents the same user token
  // and service tokens again and again, and an ECDSA verification costs far more than a lookup.
  const verified = new Map<string, { auth: AuthContext; until: number }>();

  return {
    async verify(token: string): Promise<AuthContext> {
      const hit = verified.get(token);
      if (hit && hit.until > Date.now()) return { ...hit.auth, stores: [...hit.auth.stores] };
      if (hit) verified.delete(token);
      const decoded = jwt.decode(token, { complete: true });
      if (!decoded || typeof decoded.payload === 'string') throw unauthorized('The access token is malformed', 'invalid_token');
      const { alg, kid } = decoded.header;
      if (alg !== ACCESS_TOKEN_ALGORITHM) throw unauthorized('The access token algorithm is not accepted', 'invalid_token');
      if (!kid) throw unauthorized('The access token has no key id', 'invalid_token');
      let publicKey = parsedKeys.get(kid);
      if (!publicKey || publicKey.until < Date.now()) {
        try {
          // Parsed once per key and cache period: parsing the PEM on every call was most of the cost of
          // verifying a token (bench/lookup.ts profiles).
          publicKey = { key: createPublicKey((await client.getSigningKey(kid)).getPublicKey()), until: Date.now() + cacheMaxAgeMs };
        } catch {
          throw unauthorized('The access token was signed with an unknown key', 'invalid_token');
        }
        if (parsedKeys.size > 50) parsedKeys.clear();
        parsedKeys.set(kid, publicKey);
      }
      let payload: unknown;
      try {
        payload = jwt.verify(token, publicKey.key, { algorithms: [ACCESS_TOKEN_ALGORITHM], issuer, audience });
      } catch (err) {
        const expired = err instanceof jwt.TokenExpiredError;
        throw unauthorized(expired ? 'The access token has expired' : 'The access token is not valid', expired ? 'token_expired' : 'invalid_token');
      }
      const claims = AccessClaimsSchema.safeParse(payload);
      if (!claims.success) throw unauthorized('The access token claims are not valid', 'invalid_token');
      const c = claims.data;
      const auth: AuthContext = { userId: c.sub, tenantId: c.tid, role: c.role, stores: c.stores, tokenId: c.jti, token };
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(token, { auth, until: Math.min(c.exp * 1000, Date.now() + VERIFIED_TOKEN_CACHE_MS) });
      return { ...auth, stores: [...auth.stores] };
    },
  };
}

export function bearerToken(req: Request): string | undefined {
  const header = req.header('authorization');
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header);
  return match?.[1];
}

/** Verifies the bearer token and puts the caller on `req.auth` and into the log context. */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (!token) return next(unauthorized('A bearer access token is required', 'missing_token'));
    verifier.verify(token).then(
      (auth) => {
        req.auth = auth;
        const ctx = currentContext();
        if (ctx) {
          ctx.tenantId = auth.tenantId;
          ctx.userId = auth.userId;
          ctx.role = auth.role;
        }
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

export function requireAuth(req: Request): AuthContext {
  if (!req.auth) throw unauthorized();
  return req.auth;
}

export function requireRole(req: Request, roles: readonly Role[]): AuthContext {
  const auth = requireAuth(req);
  if (!roles.includes(auth.role)) throw forbidden();
  return auth;
}

/** Owners and service clients act in every store of their tenant; others only in their token's stores. */
export function canActInStore(auth: AuthContext, storeId: string): boolean {
  return auth.role === 'owner' || auth.role === 'service' || auth.stores.includes(storeId);
}

export function assertStoreAccess(auth: AuthContext, storeId: string): void {
  if (!canActInStore(auth, storeId)) throw forbidden('You may not act in this store', 'store_forbidden');
}
