// Tokens an attacker would try. The ones that differ from a good token in a single claim (expired,
// wrong audience, wrong issuer) are signed with auth-service's real key, so they fail on that claim
// and not on the signature.
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { generateTestKey, signToken } from '../../../scripts/test/test-keys';
import type { SweepStack, Tenant } from './stack';

export interface Forgery {
  name: string;
  /** The Authorization header to send. */
  authorization: string;
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

export async function forgeries(stack: SweepStack, attacker: Tenant, victim: Tenant): Promise<Forgery[]> {
  const good = attacker.tokens.cashier;
  const [h, p, sig] = good.split('.') as [string, string, string];
  const header = decode(h);
  const claims = decode(p);
  const kid = String(header.kid);
  const jwks = (await stack.call('auth-service', { method: 'GET', path: '/.well-known/jwks.json' })).json as { keys: Array<JsonWebKey & { kid: string }> };
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error('the real signing key is not in the JWKS');
  const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
  const base = { sub: String(claims.sub), tid: String(claims.tid), role: 'owner' as const, stores: [] as string[] };
  const unsigned = (hdr: Record<string, unknown>, body: Record<string, unknown>) => `${b64url(JSON.stringify(hdr))}.${b64url(JSON.stringify(body))}`;
  const now = Math.floor(Date.now() / 1000);
  const body = { ...claims, role: 'owner', iat: now, exp: now + 600 };
  const stranger = generateTestKey(kid);
  const hs256 = (() => {
    const input = unsigned({ alg: 'HS256', typ: 'JWT', kid }, body);
    return `${input}.${b64url(createHmac('sha256', publicPem).update(input).digest())}`;
  })();
  const real = (options: { issuer?: string; audience?: string; expiresInSeconds?: number }) => stack.signWithRealKey({ tid: base.tid, role: base.role, stores: [] }, { subject: base.sub, ...options });

  const list: Array<[string, string]> = [
    ['alg none', `${unsigned({ alg: 'none', typ: 'JWT', kid }, body)}.`],
    ['alg None (case variant), no signature', unsigned({ alg: 'None', typ: 'JWT', kid }, body)],
    ['signed with another key under the real kid', signToken({ ...base, iss: String(claims.iss), aud: String(claims.aud) }, { key: stranger, kid })],
    ['HS256 with the public key as secret (alg confusion)', hs256],
    ['expired (real key)', await real({ expiresInSeconds: -120 })],
    ['wrong audience (real key)', await real({ audience: 'not-pos-api' })],
    ['wrong issuer (real key)', await real({ issuer: 'https://evil.example' })],
    ['unknown kid', signToken({ ...base, iss: String(claims.iss), aud: String(claims.aud) }, { key: generateTestKey('sweep-unknown-kid') })],
    ['no kid', signToken({ ...base, iss: String(claims.iss), aud: String(claims.aud) }, { key: stranger, kid: null })],
    ['claims changed after signing (cashier -> owner of the other tenant)', `${h}.${b64url(JSON.stringify({ ...claims, role: 'owner', tid: victim.tenantId }))}.${sig}`],
    ['garbage', 'not-a-jwt'],
    ['empty signature of a good token', `${h}.${p}.`],
  ];
  return [
    ...list.map(([name, token]) => ({ name, authorization: `Bearer ${token}` })),
    { name: 'Basic scheme', authorization: `Basic ${b64url('owner:password')}` },
    { name: 'token in a second Bearer', authorization: `Bearer x Bearer ${good}` },
    { name: 'oversized token (10 KB)', authorization: `Bearer ${'a'.repeat(10_000)}` },
  ];
}
