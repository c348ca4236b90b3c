import { z } from './zod';

export const USER_ROLES = ['owner', 'manager', 'cashier'] as const;
export const UserRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRoleSchema>;

/** `service` is only ever issued to service clients through client credentials (POS-DESIGN §11). */
export const ROLES = [...USER_ROLES, 'service'] as const;
export type Role = (typeof ROLES)[number];

export const ACCESS_TOKEN_AUDIENCE = 'pos-api';

export const AccessClaimsSchema = z.object({
  sub: z.string().min(1),
  tid: z.string().uuid(),
  role: z.enum(ROLES),
  stores: z.array(z.string().uuid()).default([]),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  iat: z.number(),
  jti: z.string(),
});
export type AccessClaims = z.infer<typeof AccessClaimsSchema>;
