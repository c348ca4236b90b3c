import argon2 from 'argon2';

export interface PasswordHasher {
  hash(secret: string): Promise<string>;
  verify(hash: string, secret: string): Promise<boolean>;
  /** Spends the same time as a real verify, so unknown emails and wrong passwords look alike. */
  verifyDummy(secret: string): Promise<void>;
}

export function createPasswordHasher(memoryCostKiB: number): PasswordHasher {
  const options = { type: argon2.argon2id, memoryCost: memoryCostKiB, timeCost: 2, parallelism: 1 };
  const dummy = argon2.hash('dummy-password-for-timing', options);
  return {
    hash: (secret) => argon2.hash(secret, options),
    verify: (hash, secret) => argon2.verify(hash, secret).catch(() => false),
    verifyDummy: async (secret) => {
      await argon2.verify(await dummy, secret).catch(() => false);
    },
  };
}
