import { randomBytes } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import passport from 'passport';
import OAuth2Strategy from 'passport-oauth2';
import { z } from '@pos/types';
import { withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { ProblemError, forbidden, serviceUnavailable, unauthorized } from '@pos/utils';
import type { AuthDeps } from '../deps';
import { findLogin, findUser, recordLoginState } from '../data/user-repository';
import { profileFromUserinfo, signupFromProfile, type OAuthProfile } from '../domain/oauth-profile';
import { signUpTenant } from '../tenant-signup';
import { clientInfo, recordLogin } from './auth-routes';
import { RegisterResponse, SessionSchema } from './schemas';

const tags = ['auth'];
const STATE_TTL_SECONDS = 600;
const PROVIDER_TIMEOUT_MS = 5_000;

const oauthFailed = () => unauthorized('The OAuth login did not succeed; start it again', 'oauth_failed');
const oauthDisabled = () => new ProblemError(404, 'oauth_disabled', 'Not Found', 'OAuth login is not enabled');
const stateUnavailable = () => serviceUnavailable('The login cannot be started right now; try again', 'oauth_state_unavailable');

/**
 * passport-oauth2 state store without sessions: a random state kept in Redis for 10 minutes and
 * deleted when it comes back, so it is single use and works whichever replica gets the callback.
 * The argument counts matter: passport-oauth2 picks the call signature by `fn.length`.
 */
class RedisStateStore {
  constructor(private readonly redis: Redis) {}

  store(_req: Request, done: (err: Error | null, state?: string) => void): void {
    const state = randomBytes(32).toString('base64url');
    this.redis.set(`oauth:state:${state}`, '1', 'EX', STATE_TTL_SECONDS).then(() => done(null, state), () => done(stateUnavailable()));
  }

  verify(_req: Request, state: unknown, done: (err: Error | null, ok: boolean, info?: { message: string }) => void): void {
    if (typeof state !== 'string' || !/^[\w-]{43}$/.test(state)) return done(null, false, { message: 'missing or malformed state' });
    this.redis.del(`oauth:state:${state}`).then(
      (deleted) => (deleted === 1 ? done(null, true) : done(null, false, { message: 'unknown, expired or reused state' })),
      () => done(stateUnavailable(), false),
    );
  }
}

async function fetchProfile(userinfoUrl: string, accessToken: string): Promise<OAuthProfile> {
  const res = await fetch(userinfoUrl, {
    headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
    signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`userinfo answered ${res.status}`);
  const profile = profileFromUserinfo(await res.json());
  if (!profile) throw new Error('userinfo has no verified email');
  return profile;
}

function createAuthenticator({ config, redis }: AuthDeps): passport.Authenticator {
  const strategy = new OAuth2Strategy(
    {
      authorizationURL: config.OAUTH_AUTHORIZATION_URL!,
      tokenURL: config.OAUTH_TOKEN_URL!,
      clientID: config.OAUTH_CLIENT_ID!,
      clientSecret: config.OAUTH_CLIENT_SECRET!,
      callbackURL: config.OAUTH_CALLBACK_URL!,
      scope: config.OAUTH_SCOPE,
      store: new RedisStateStore(redis) as unknown as OAuth2Strategy.StateStore,
    },
    (_accessToken: string, _refreshToken: string, profile: OAuthProfile, done: OAuth2Strategy.VerifyCallback) => done(null, profile),
  );
  strategy.userProfile = (accessToken, done) => {
    fetchProfile(config.OAUTH_USERINFO_URL!, accessToken).then((profile) => done(null, profile), done);
  };
  const authenticator = new passport.Passport();
  authenticator.use('oauth2', strategy);
  return authenticator;
}

/**
 * Runs the strategy on this request. Resolves with the provider's profile (callback), or with
 * undefined once passport has answered itself (the redirect to the provider).
 */
function runStrategy(authenticator: passport.Authenticator, req: Request, res: Response): Promise<OAuthProfile | undefined> {
  return new Promise((resolve, reject) => {
    // The token request of passport-oauth2 has no timeout of its own.
    const timer = setTimeout(() => reject(new Error('OAuth provider timed out')), 2 * PROVIDER_TIMEOUT_MS);
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      fn();
    };
    res.once('finish', () => settle(() => resolve(undefined)));
    const callback = (err: unknown, user?: OAuthProfile | false, info?: { message?: string }) =>
      settle(() => (err || !user ? reject(err ?? new Error(info?.message ?? 'OAuth login failed')) : resolve(user)));
    authenticator.authenticate('oauth2', { session: false }, callback)(req, res, (err?: unknown) => settle(() => reject(err)));
  });
}

const CallbackQuery = z.object({
  code: z.string().optional(),
  state: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/** OAuth2 login against a configurable provider (passport-oauth2); see docs/api.md. */
export function oauthRoutes(_app: Express, table: RouteTable, deps: AuthDeps): void {
  const { config, pool, sessions, logger } = deps;
  const authenticator = config.OAUTH_ENABLED ? createAuthenticator(deps) : undefined;

  table.add({
    method: 'get',
    path: '/api/v1/auth/oauth/login',
    summary: 'Start an OAuth2 login: redirects to the configured provider',
    tags,
    roles: 'public',
    responses: { 302: { description: 'Redirect to the provider, with a single-use `state`' }, 404: { description: 'OAuth login is not enabled' } },
    handler: async ({ req, res }) => {
      if (!authenticator) throw oauthDisabled();
      res.setHeader('Cache-Control', 'no-store');
      // Always start a new login here, whatever `code` or `error` the query may carry.
      const start = Object.create(req, { query: { value: {} }, body: { value: undefined } }) as Request;
      await runStrategy(authenticator, start, res);
      return undefined;
    },
  });

  table.add({
    method: 'get',
    path: '/api/v1/auth/oauth/callback',
    summary: 'OAuth2 callback: logs in the user with this email, or creates a tenant on first login when allowed',
    tags,
    roles: 'public',
    query: CallbackQuery,
    responses: {
      200: { description: 'Logged in as the existing user with the provider’s email', schema: SessionSchema },
      201: { description: 'First login: a tenant, its first store and its owner were created', schema: RegisterResponse },
      401: { description: 'The provider refused, or the code or state was missing, unknown or reused (`oauth_failed`)' },
      403: { description: 'No user has this email and sign-up is not allowed (`oauth_user_unknown`)' },
      404: { description: 'OAuth login is not enabled' },
    },
    handler: async ({ req, res, query }) => {
      if (!authenticator) throw oauthDisabled();
      // Without a code or an error passport would start a new login; a callback must carry one.
      if (!query.code && !query.error) throw oauthFailed();
      res.setHeader('Cache-Control', 'no-store');
      const profile = await runStrategy(authenticator, req, res).catch((err: unknown) => {
        if (err instanceof ProblemError) throw err;
        logger.warn('oauth login failed', { reason: err instanceof Error ? err.message : String(err) });
        throw oauthFailed();
      });
      if (!profile) throw oauthFailed();

      const unknownUser = () => forbidden('This account cannot log in here', 'oauth_user_unknown');
      const login = await findLogin(pool, profile.email);
      if (login) {
        const session = await withTenant(pool, login.tenant_id, async (db) => {
          const user = await findUser(db, login.tenant_id, login.user_id, true);
          if (!user?.active) return undefined;
          await recordLoginState(db, user.id, { loggedIn: true });
          await recordLogin(db, user, { method: 'oauth', storeId: null, client: clientInfo(req) });
          return sessions.issue(db, user, { storeScope: null });
        });
        if (!session) throw unknownUser();
        return session;
      }
      if (!config.OAUTH_ALLOW_SIGNUP) throw unknownUser();
      res.status(201).json(await signUpTenant(pool, sessions, signupFromProfile(profile)));
      return undefined;
    },
  });
}
