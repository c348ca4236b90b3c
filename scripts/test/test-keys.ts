// Test support: ES256 signing keys, a JWKS server and a token forger, so suites can mint the tokens
// auth-service would issue (and the bad ones an attacker would try) without running auth-service.
import { createHmac, generateKeyPairSync, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_ISSUER = 'cloud-pos-auth';
export const TEST_AUDIENCE = 'pos-api';

export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key (what an HS256 confusion attack uses as the HMAC secret). */
  publicPem: string;
  publicJwk: PublicJwk;
}

export function generateTestKey(kid = `test-${randomUUID()}`): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    privateKey,
    publicKey,
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

/** The default key of a test run; `startJwksServer()` publishes it unless told otherwise. */
export const testKey = generateTestKey('test-key-1');

export function jwksOf(...keys: TestKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

export interface JwksServer {
  /** Full URL of the JWKS document, for JWKS_URL. */
  url: string;
  /** How many times the JWKS was fetched (to assert caching and refetch-on-unknown-kid). */
  readonly requests: number;
  /** Replace the published keys (key rotation). */
  setKeys(keys: TestKey[]): void;
  close(): Promise<void>;
}

/** Serves `/.well-known/jwks.json` on 127.0.0.1 and a free port. */
export async function startJwksServer(keys: TestKey[] = [testKey]): Promise<JwksServer> {
  let published = keys;
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(...published)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get requests() {
      return requests;
    },
    setKeys(next) {
      published = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AccessTokenClaims {
  sub: string;
  tid: string;
  role: 'owner' | 'manager' | 'cashier' | 'service';
  stores: string[];
  iss: string;
  aud: string | string[];
  jti: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

export interface SignOptions {
  /** Header `kid`; defaults to the signing key's kid; `null` leaves it out. */
  kid?: string | null;
  /** Signing key; defaults to `testKey`. */
  key?: TestKey;
  /**
   * Header `alg`. `ES256` (default) and `ES384` sign with the EC key, `HS256`/`HS384`/`HS512` with an
   * HMAC over `secret`, `none` produces an unsigned token.
   */
  alg?: 'ES256' | 'ES384' | 'HS256' | 'HS384' | 'HS512' | 'none';
  /** HMAC secret for HS*; defaults to the key's public PEM (the classic algorithm-confusion attack). */
  secret?: string | Buffer;
  /** Seconds from now; negative for a token that has already expired. Default 900. */
  expiresIn?: number;
  /** Extra header fields. */
  header?: Record<string, unknown>;
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

export function defaultClaims(overrides: Partial<AccessTokenClaims> = {}, expiresIn = 900): AccessTokenClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: randomUUID(),
    tid: randomUUID(),
    role: 'cashier',
    stores: [],
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    jti: randomUUID(),
    iat: now,
    exp: now + expiresIn,
    ...overrides,
  };
}

/**
 * Mints a JWT the way auth-service does (ES256 with a kid), or a forged variant of it. The token is
 * assembled by hand so that any header/algorithm combination can be produced, including ones a
 * JWT library would refuse to sign.
 */
export function signToken(overrides: Partial<AccessTokenClaims> = {}, options: SignOptions = {}): string {
  const key = options.key ?? testKey;
  const alg = options.alg ?? 'ES256';
  const kid = options.kid === undefined ? key.kid : options.kid;
  const header = { alg, typ: 'JWT', ...(kid === null ? {} : { kid }), ...options.header };
  const payload = defaultClaims(overrides, options.expiresIn ?? 900);
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  let signature: Buffer;
  switch (alg) {
    case 'none':
      signature = Buffer.alloc(0);
      break;
    case 'HS256':
    case 'HS384':
    case 'HS512':
      signature = createHmac(`sha${alg.slice(2)}`, options.secret ?? key.publicPem)
        .update(input)
        .digest();
      break;
    default:
      // JWS wants ECDSA signatures as raw r||s, not DER.
      signature = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  }
  return `${input}.${b64url(signature)}`;
}

/** `alg: none`, no signature. */
export const unsignedToken = (overrides: Partial<AccessTokenClaims> = {}) => signToken(overrides, { alg: 'none' });

/** HS256 with the (public!) ES256 key as the HMAC secret: accepted by verifiers that do not pin algorithms. */
export const hs256WithPublicKey = (overrides: Partial<AccessTokenClaims> = {}, key: TestKey = testKey) =>
  signToken(overrides, { alg: 'HS256', key, secret: key.publicPem });
