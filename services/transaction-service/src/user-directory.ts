import { serviceUnavailable } from '@pos/utils';

export interface DirectoryUser {
  id: string;
  tenantId: string;
  role: string;
  storeIds: string[];
  active: boolean;
}

/**
 * Users as auth-service shows them to the caller: read with the caller's own token, so a manager
 * finds only the users in their reach (their tenant, their stores) and nothing else.
 */
export class UserDirectory {
  constructor(
    private readonly authServiceUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The user, or undefined when there is none in the caller's reach; 503 when auth-service cannot answer. */
  async find(userId: string, token: string): Promise<DirectoryUser | undefined> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.authServiceUrl.replace(/\/+$/, '')}/api/v1/users/${encodeURIComponent(userId)}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(3_000),
      });
    } catch {
      throw serviceUnavailable('The user directory (auth-service) cannot be reached');
    }
    if (res.status === 404 || res.status === 403 || res.status === 400) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw serviceUnavailable('The user directory (auth-service) did not answer');
    return (await res.json()) as DirectoryUser;
  }
}
