import { generateKeyPairSync, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ACCESS_TOKEN_ALGORITHM } from '@pos/http';
import type { Pool } from '@pos/database';
import { SecretBox } from '../domain/secrets';

interface KeyRow {
  kid: string;
  public_jwk: Record<string, unknown>;
  private_key_enc: string;
  created_at: Date;
  retired_at: Date | null;
}

interface LoadedKey {
  kid: string;
  publicJwk: Record<string, unknown>;
  privateKey: KeyObject;
  createdAt: Date;
  retiredAt: Date | null;
}

const ROTATION_LOCK = 7261101;

export interface KeyStoreOptions {
  pool: Pool;
  secret: string;
  /** Retired keys stay published this long, so tokens they signed still verify until they expire. */
  retiredKeyGraceSeconds: number;
  rotationDays: number;
  /** Reload keys from the database at most this often (other replicas may have rotated). */
  reloadIntervalMs?: number;
}

/**
 * ES256 signing keys kept in Postgres with the private half encrypted. The newest unretired key
 * signs; retired keys stay in the JWKS for the grace period so rotation never breaks live tokens.
 */
export class KeyStore {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private readonly box: SecretBox;

  constructor(private readonly options: KeyStoreOptions) {
    this.box = new SecretBox(options.secret, 'signing-keys');
  }

  /** Makes sure a signing key exists (and rotates an old one); safe to run on many replicas at once. */
  async init(): Promise<void> {
    const client = await this.options.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [ROTATION_LOCK]);
      const { rows } = await client.query<{ created_at: Date }>(
        'SELECT created_at FROM auth.signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1',
      );
      const maxAgeMs = this.options.rotationDays * 86_400_000;
      if (!rows[0] || Date.now() - rows[0].created_at.getTime() > maxAgeMs) await this.insertNewKey(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ROTATION_LOCK]).catch(() => undefined);
      client.release();
    }
    await this.reload();
  }

  /** Adds a new signing key and retires the current ones (still published during the grace period). */
  async rotate(): Promise<string> {
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROTATION_LOCK]);
      await client.query('UPDATE auth.signing_keys SET retired_at = now() WHERE retired_at IS NULL');
      const kid = await this.insertNewKey(client);
      await client.query('COMMIT');
      await this.reload();
      return kid;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async insertNewKey(client: { query: Pool['query'] }): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    const sealed = this.box.seal(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    await client.query('INSERT INTO auth.signing_keys (kid, alg, public_jwk, private_key_enc) VALUES ($1, $2, $3, $4)', [
      kid,
      ACCESS_TOKEN_ALGORITHM,
      jwk,
      sealed,
    ]);
    return kid;
  }

  async reload(): Promise<void> {
    const { rows } = await this.options.pool.query<KeyRow>(
      `SELECT kid, public_jwk, private_key_enc, created_at, retired_at FROM auth.signing_keys
        WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
        ORDER BY created_at DESC`,
      [this.options.retiredKeyGraceSeconds],
    );
    this.keys = rows.map((r) => ({
      kid: r.kid,
      publicJwk: r.public_jwk,
      privateKey: createPrivateKey(this.box.open(r.private_key_enc)),
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
    this.loadedAt = Date.now();
  }

  private async fresh(): Promise<LoadedKey[]> {
    if (Date.now() - this.loadedAt > (this.options.reloadIntervalMs ?? 30_000)) await this.reload();
    return this.keys;
  }

  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    return { keys: (await this.fresh()).map((k) => k.publicJwk) };
  }

  async sign(payload: Record<string, unknown>, options: { issuer: string; audience: string; expiresInSeconds: number; subject: string }): Promise<string> {
    const active = (await this.fresh()).find((k) => k.retiredAt === null);
    if (!active) throw new Error('no active signing key');
    return jwt.sign(payload, active.privateKey, {
      algorithm: ACCESS_TOKEN_ALGORITHM,
      keyid: active.kid,
      issuer: options.issuer,
      audience: options.audience,
      subject: options.subject,
      expiresIn: options.expiresInSeconds,
      jwtid: randomUUID(),
    });
  }
}
