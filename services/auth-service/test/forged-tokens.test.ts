import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { bearer, registerTenant, startAuthService, type RegisteredTenant, type TestAuthService } from './helpers';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('auth-service verifies tokens itself (called directly, not through the gateway)', () => {
  let svc: TestAuthService;
  let t: RegisteredTenant;
  let claims: Record<string, unknown>;
  let kid: string;

  beforeAll(async () => {
    svc = await startAuthService();
    t = await registerTenant(svc.app);
    const decoded = jwt.decode(t.accessToken, { complete: true })!;
    claims = decoded.payload as Record<string, unknown>;
    kid = decoded.header.kid!;
  });
  afterAll(() => svc.close());

  const me = (token: string) => request(svc.app).get('/api/v1/auth/me').set(bearer(token));

  it('when the token is genuine, then it is accepted', async () => {
    await me(t.accessToken).expect(200);
  });

  it('when there is no token or a non-bearer header, then 401', async () => {
    await request(svc.app).get('/api/v1/auth/me').expect(401);
    await request(svc.app).get('/api/v1/auth/me').set('Authorization', `Basic ${t.accessToken}`).expect(401);
  });

  it('when the token says alg none, then 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
    await me(token).expect(401);
  });

  it('when the token is signed with another key under the real kid, then 401', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = jwt.sign(claims, privateKey, { algorithm: 'ES256', keyid: kid });
    await me(token).expect(401);
  });

  it('when the token is HS256 signed with the public key as the secret, then 401', async () => {
    const jwks = await request(svc.app).get('/.well-known/jwks.json');
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === kid);
    const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const token = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(claims)}`;
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', publicPem).update(token).digest('base64url');
    await me(`${token}.${signature}`).expect(401);
  });

  it('when the token has expired, then 401 token_expired', async () => {
    const token = await svc.deps.keys.sign({ tid: t.tenantId, role: 'owner', stores: [] }, { issuer: 'cloud-pos-auth', audience: 'pos-api', expiresInSeconds: -60, subject: t.ownerId });
    const res = await me(token).expect(401);
    expect(res.body.code).toBe('token_expired');
  });

  it('when the audience or issuer is wrong, then 401', async () => {
    const wrongAud = await svc.deps.keys.sign({ tid: t.tenantId, role: 'owner', stores: [] }, { issuer: 'cloud-pos-auth', audience: 'other-api', expiresInSeconds: 60, subject: t.ownerId });
    await me(wrongAud).expect(401);
    const wrongIss = await svc.deps.keys.sign({ tid: t.tenantId, role: 'owner', stores: [] }, { issuer: 'someone-else', audience: 'pos-api', expiresInSeconds: 60, subject: t.ownerId });
    await me(wrongIss).expect(401);
  });

  it('when the kid is unknown, then 401 (after one refetch of the key set)', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = jwt.sign(claims, privateKey, { algorithm: 'ES256', keyid: 'no-such-kid' });
    const res = await me(token).expect(401);
    expect(res.body.code).toBe('invalid_token');
  });

  it('when the claims are tampered with, then the signature fails and 401', async () => {
    const [h, , s] = t.accessToken.split('.');
    await me(`${h}.${b64({ ...claims, role: 'owner', tid: '00000000-0000-4000-8000-000000000000' })}.${s}`).expect(401);
  });
});
