import { generateTestKey, jwksOf, signToken, testKey } from '../../../scripts/test/test-keys';
import { createTokenVerifier } from '../src';

const verifierFor = (keys = [testKey]) => createTokenVerifier({ issuer: 'cloud-pos-auth', fetchJwks: async () => jwksOf(...keys) });

describe('createTokenVerifier (verified-token cache)', () => {
  it('when the same token is verified again, then it gets the same caller, and changing the copy it got changes nothing', async () => {
    const verifier = verifierFor();
    const token = signToken({ role: 'manager', stores: ['00000000-0000-4000-8000-000000000001'] });
    const first = await verifier.verify(token);
    first.stores.push('mutated');
    (first as { role: string }).role = 'owner';
    const second = await verifier.verify(token);
    expect(second).toMatchObject({ role: 'manager', stores: ['00000000-0000-4000-8000-000000000001'], token });
  });

  it('when a verified token expires, then the cache does not keep it alive', async () => {
    const verifier = verifierFor();
    const token = signToken({}, { expiresIn: 1 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ token });
    await new Promise((r) => setTimeout(r, 1_600));
    await expect(verifier.verify(token)).rejects.toMatchObject({ status: 401, code: 'token_expired' });
  });

  it('when a token differs from a verified one only in its signature, then it is checked, not taken from the cache', async () => {
    const verifier = verifierFor();
    const token = signToken();
    await verifier.verify(token);
    const [header, payload] = token.split('.');
    const otherKey = generateTestKey(testKey.kid);
    const forged = `${header}.${payload}.${signToken({}, { key: otherKey }).split('.')[2]}`;
    await expect(verifier.verify(forged)).rejects.toMatchObject({ status: 401 });
  });
});
