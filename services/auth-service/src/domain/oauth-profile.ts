import { z } from '@pos/types';

/** What an OAuth login needs from the provider's userinfo answer. */
export interface OAuthProfile {
  email: string;
  name: string;
}

const Userinfo = z.object({
  email: z.string().trim().max(254).email(),
  // Providers that say nothing about verification are trusted; an explicit false is refused.
  email_verified: z.union([z.boolean(), z.literal('true'), z.literal('false')]).optional(),
  name: z.string().trim().max(200).optional(),
});

/** The provider's user as a profile, or undefined when it has no usable (verified) email. */
export function profileFromUserinfo(body: unknown): OAuthProfile | undefined {
  const parsed = Userinfo.safeParse(body);
  if (!parsed.success) return undefined;
  const { email, email_verified: verified, name } = parsed.data;
  if (verified === false || verified === 'false') return undefined;
  return { email, name: name || email.slice(0, email.indexOf('@')) };
}

/** The tenant, store and owner created on a first OAuth login (when sign-up is allowed). */
export function signupFromProfile(profile: OAuthProfile) {
  return {
    tenantName: `${profile.name.slice(0, 180)}'s business`,
    storeName: 'Main store',
    currency: 'USD',
    timezone: 'UTC',
    taxInclusive: false,
    email: profile.email,
    name: profile.name,
    passwordHash: null,
  };
}
