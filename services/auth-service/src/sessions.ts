import { randomUUID } from 'node:crypto';
import { ACCESS_TOKEN_AUDIENCE } from '@pos/types';
import type { Queryable } from '@pos/database';
import type { AuthConfig } from './config';
import type { KeyStore } from './keys/key-store';
import { userView, type UserRow } from './data/rows';
import { hashToken, newOpaqueToken, SecretBox } from './domain/secrets';
import * as tokens from './data/token-repository';

export interface Session {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: ReturnType<typeof userView>;
}

export type RefreshOutcome =
  | { kind: 'ok'; session: Session }
  | { kind: 'invalid' }
  | { kind: 'reused'; userId: string; familyId: string };

/** Issues access and refresh tokens; rotates refresh tokens with reuse detection. */
export class SessionIssuer {
  constructor(
    private readonly config: AuthConfig,
    private readonly keys: KeyStore,
  ) {}

  accessToken(user: Pick<UserRow, 'id' | 'tenant_id' | 'role' | 'store_ids'>, storeScope: string[] | null): Promise<string> {
    const stores = storeScope ?? user.store_ids;
    return this.keys.sign(
      { tid: user.tenant_id, role: user.role, stores },
      { issuer: this.config.JWT_ISSUER, audience: ACCESS_TOKEN_AUDIENCE, expiresInSeconds: this.config.ACCESS_TOKEN_TTL_SECONDS, subject: user.id },
    );
  }

  serviceToken(clientId: string, tenantId: string): Promise<string> {
    return this.keys.sign(
      { tid: tenantId, role: 'service', stores: [] },
      { issuer: this.config.JWT_ISSUER, audience: ACCESS_TOKEN_AUDIENCE, expiresInSeconds: Math.min(300, this.config.ACCESS_TOKEN_TTL_SECONDS), subject: `svc:${clientId}` },
    );
  }

  /** Starts a new refresh-token family (login) or continues one (rotation). */
  async issue(db: Queryable, user: UserRow, opts: { storeScope: string[] | null; familyId?: string }): Promise<Session> {
    const refreshToken = newOpaqueToken('rt');
    await tokens.insertRefreshToken(db, {
      id: randomUUID(),
      tenantId: user.tenant_id,
      userId: user.id,
      familyId: opts.familyId ?? randomUUID(),
      tokenHash: hashToken(refreshToken),
      storeScope: opts.storeScope,
      expiresAt: new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_DAYS * 86_400_000),
    });
    return {
      accessToken: await this.accessToken(user, opts.storeScope),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.ACCESS_TOKEN_TTL_SECONDS,
      user: userView(user),
    };
  }

  /**
   * Rotation: a refresh token is good once. Presented again within the grace window it returns the
   * pair it was rotated into (once); any other reuse means it leaked, so the whole family is revoked.
   */
  async rotate(db: Queryable, presented: string, loadUser: (userId: string) => Promise<UserRow | undefined>): Promise<RefreshOutcome> {
    const row = await tokens.findRefreshTokenForUpdate(db, hashToken(presented));
    if (!row || row.revoked_at || row.expires_at.getTime() <= Date.now()) return { kind: 'invalid' };
    if (row.rotated_at) {
      const withinGrace = Date.now() - row.rotated_at.getTime() <= this.config.REFRESH_REUSE_GRACE_SECONDS * 1000;
      if (withinGrace && row.grace_pair && !row.grace_used_at) {
        await tokens.markGraceUsed(db, row.id);
        return { kind: 'ok', session: JSON.parse(SecretBox.fromToken(presented).open(row.grace_pair)) as Session };
      }
      await tokens.revokeFamily(db, row.family_id);
      return { kind: 'reused', userId: row.user_id, familyId: row.family_id };
    }
    const user = await loadUser(row.user_id);
    if (!user || !user.active) {
      await tokens.revokeFamily(db, row.family_id);
      return { kind: 'invalid' };
    }
    const session = await this.issue(db, user, { storeScope: row.store_scope, familyId: row.family_id });
    const gracePair = this.config.REFRESH_REUSE_GRACE_SECONDS > 0 ? SecretBox.fromToken(presented).seal(JSON.stringify(session)) : null;
    await tokens.markRotated(db, row.id, gracePair);
    return { kind: 'ok', session };
  }
}
