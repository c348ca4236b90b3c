// Rotates the access-token signing key: `npm run keys:rotate`. The old key stays in the JWKS until
// every token it signed has expired, so nobody is logged out.
import { createPool } from '@pos/database';
import { loadConfig } from '@pos/utils';
import { authConfigSchema } from './config';
import { KeyStore } from './keys/key-store';

async function rotate(): Promise<void> {
  const config = loadConfig(authConfigSchema);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 1 });
  try {
    const keys = new KeyStore({ pool, secret: config.SIGNING_KEY_SECRET, retiredKeyGraceSeconds: config.ACCESS_TOKEN_TTL_SECONDS + 300, rotationDays: config.KEY_ROTATION_DAYS });
    const kid = await keys.rotate();
    console.warn(`new signing key ${kid} is active; previous keys stay published for ${config.ACCESS_TOKEN_TTL_SECONDS + 300}s`);
  } finally {
    await pool.end();
  }
}

rotate().catch((err: unknown) => {
  console.error(`key rotation failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
