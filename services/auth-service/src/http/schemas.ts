import { CurrencySchema, ListQuerySchema, UserRoleSchema, listResponse, z } from '@pos/types';

export const Email = z.string().trim().max(254).email('must be an email address').openapi({ example: 'owner@example.com' });
export const Password = z.string().min(10, 'must be at least 10 characters').max(200, 'must be at most 200 characters');
export const Pin = z.string().regex(/^\d{4,8}$/, 'must be 4 to 8 digits');
export const Uuid = z.string().uuid('must be a uuid');
const Name = z.string().trim().min(1, 'is required').max(200);

const validTimezone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
export const Timezone = z.string().max(64).refine(validTimezone, 'must be an IANA time zone such as America/New_York');

export const AddressSchema = z
  .object({
    line1: z.string().max(200).optional(),
    line2: z.string().max(200).optional(),
    city: z.string().max(100).optional(),
    region: z.string().max(100).optional(),
    postalCode: z.string().max(20).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code').optional(),
  })
  .strict()
  .openapi('Address');

export const TenantSchema = z
  .object({ id: Uuid, name: z.string(), version: z.number().int(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('Tenant');

export const StoreSchema = z
  .object({
    id: Uuid,
    tenantId: Uuid,
    name: z.string(),
    currency: z.string(),
    timezone: z.string(),
    taxInclusive: z.boolean(),
    allowNegativeStock: z.boolean(),
    address: AddressSchema.nullable(),
    active: z.boolean(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Store');

export const UserSchema = z
  .object({
    id: Uuid,
    tenantId: Uuid,
    email: z.string(),
    name: z.string(),
    role: UserRoleSchema,
    storeIds: z.array(Uuid),
    active: z.boolean(),
    hasPassword: z.boolean(),
    hasPin: z.boolean(),
    lastLoginAt: z.string().nullable(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('User');

export const SessionSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().openapi({ description: 'Seconds until the access token expires' }),
    user: UserSchema,
  })
  .openapi('Session');

export const RegisterBody = z
  .object({
    tenantName: Name,
    storeName: Name,
    email: Email,
    password: Password,
    name: Name,
    currency: CurrencySchema.default('USD'),
    timezone: Timezone.default('UTC'),
    taxInclusive: z.boolean().default(false),
  })
  .strict()
  .openapi('RegisterRequest');

export const RegisterResponse = SessionSchema.extend({ tenant: TenantSchema, store: StoreSchema }).openapi('RegisterResponse');

export const LoginBody = z.object({ email: Email, password: z.string().min(1).max(200) }).strict().openapi('LoginRequest');

export const PinLoginBody = z
  .object({ tenantId: Uuid, storeId: Uuid, userId: Uuid.optional(), email: Email.optional(), pin: Pin })
  .strict()
  .refine((b) => Boolean(b.userId) !== Boolean(b.email), { message: 'give exactly one of userId or email', path: ['userId'] })
  .openapi('PinLoginRequest');

export const RefreshBody = z.object({ refreshToken: z.string().min(10).max(200) }).strict();

export const TokenBody = z
  .object({
    grant_type: z.literal('client_credentials'),
    client_id: z.string().min(1).max(100),
    client_secret: z.string().min(1).max(500),
    tenantId: Uuid,
  })
  .strict()
  .openapi('ClientCredentialsRequest');

export const ServiceTokenResponse = z.object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int() });

export const PasswordResetBody = z.object({ email: Email }).strict();
export const PasswordResetConfirmBody = z.object({ token: z.string().min(10).max(200), password: Password }).strict();

export const MeResponse = z.object({ user: UserSchema, tenant: TenantSchema, stores: z.array(StoreSchema) }).openapi('Me');

export const CreateUserBody = z
  .object({
    email: Email,
    name: Name,
    role: UserRoleSchema,
    storeIds: z.array(Uuid).max(500).default([]),
    password: Password.optional(),
    pin: Pin.optional(),
  })
  .strict()
  .openapi('CreateUserRequest');

export const UpdateUserBody = z
  .object({
    version: z.number().int().positive(),
    name: Name.optional(),
    role: UserRoleSchema.optional(),
    storeIds: z.array(Uuid).max(500).optional(),
    active: z.boolean().optional(),
    pin: Pin.nullable().optional(),
    password: Password.optional(),
  })
  .strict()
  .openapi('UpdateUserRequest');

export const UserListQuery = ListQuerySchema.extend({
  storeId: Uuid.optional(),
  role: UserRoleSchema.optional(),
  active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const CreateStoreBody = z
  .object({
    name: Name,
    currency: CurrencySchema,
    timezone: Timezone,
    taxInclusive: z.boolean(),
    allowNegativeStock: z.boolean(),
    address: AddressSchema.optional(),
  })
  .strict()
  .openapi('CreateStoreRequest');

export const UpdateStoreBody = z
  .object({
    version: z.number().int().positive(),
    name: Name.optional(),
    currency: CurrencySchema.optional(),
    timezone: Timezone.optional(),
    taxInclusive: z.boolean().optional(),
    allowNegativeStock: z.boolean().optional(),
    address: AddressSchema.nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .openapi('UpdateStoreRequest');

export const StoreListQuery = ListQuerySchema.extend({
  includeInactive: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const IdParams = z.object({ id: Uuid });

export const UserList = listResponse(UserSchema).openapi('UserList');
export const StoreList = listResponse(StoreSchema).openapi('StoreList');
