import { afterFailure, isLocked, secondsUntilUnlocked } from '../src/domain/lockout';
import { canView, cannotManage } from '../src/domain/user-policy';
import { SecretBox, hashToken, newOpaqueToken } from '../src/domain/secrets';

describe('lockout rule', () => {
  const policy = { maxFailures: 3, lockMinutes: 10 };
  const now = new Date('2026-01-01T10:00:00Z');

  it('when failures stay under the limit, then the account is not locked', () => {
    const s = afterFailure(afterFailure({ failures: 0, lockedUntil: null }, policy, now), policy, now);
    expect(s).toEqual({ failures: 2, lockedUntil: null });
    expect(isLocked(s, now)).toBe(false);
  });

  it('when the limit is reached, then it locks for the configured time and the count restarts', () => {
    const s = afterFailure({ failures: 2, lockedUntil: null }, policy, now);
    expect(s.failures).toBe(0);
    expect(s.lockedUntil).toEqual(new Date('2026-01-01T10:10:00Z'));
    expect(isLocked(s, now)).toBe(true);
    expect(secondsUntilUnlocked(s, now)).toBe(600);
    expect(isLocked(s, new Date('2026-01-01T10:10:01Z'))).toBe(false);
  });
});

describe('who manages whom', () => {
  const owner = { userId: 'o', role: 'owner', stores: [] };
  const manager = { userId: 'm', role: 'manager', stores: ['s1', 's2'] };
  const cashier = { userId: 'c', role: 'cashier', stores: ['s1'] };

  it('when an owner acts, then any role in any store is allowed', () => {
    expect(cannotManage(owner, { role: 'owner', storeIds: [] })).toBeUndefined();
  });

  it('when a manager acts, then only cashiers wholly inside their stores are allowed', () => {
    expect(cannotManage(manager, { role: 'cashier', storeIds: ['s1'] })).toBeUndefined();
    expect(cannotManage(manager, { role: 'cashier', storeIds: ['s1', 's3'] })).toMatch(/own stores/);
    expect(cannotManage(manager, { role: 'cashier', storeIds: [] })).toMatch(/own stores/);
    expect(cannotManage(manager, { role: 'manager', storeIds: ['s1'] })).toMatch(/only manage cashiers/);
    expect(cannotManage(manager, { role: 'owner', storeIds: ['s1'] })).toMatch(/only manage cashiers/);
  });

  it('when a cashier acts, then nothing is allowed', () => {
    expect(cannotManage(cashier, { role: 'cashier', storeIds: ['s1'] })).toBeDefined();
  });

  it('when visibility is checked, then managers see users sharing a store and everyone sees themselves', () => {
    expect(canView(manager, { id: 'x', role: 'cashier', storeIds: ['s2'] })).toBe(true);
    expect(canView(manager, { id: 'x', role: 'cashier', storeIds: ['s9'] })).toBe(false);
    expect(canView(cashier, { id: 'c', role: 'cashier', storeIds: ['s1'] })).toBe(true);
  });
});

describe('secrets', () => {
  it('when a token is made, then it is random, prefixed and stored only as a hash', () => {
    const a = newOpaqueToken('rt');
    expect(a).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(newOpaqueToken('rt')).not.toBe(a);
    expect(hashToken(a)).not.toContain(a);
  });

  it('when a value is sealed, then only the same key opens it and tampering is detected', () => {
    const box = new SecretBox('a secret of at least some length');
    const sealed = box.seal('hello');
    expect(box.open(sealed)).toBe('hello');
    expect(() => new SecretBox('another secret entirely!!').open(sealed)).toThrow();
    const [iv, tag, data] = sealed.split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([iv, tag, flipped.toString('base64url')].join('.'))).toThrow();
  });
});
