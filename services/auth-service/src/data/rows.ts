/** Row shapes and their API views. */
export interface TenantRow {
  id: string;
  name: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface StoreRow {
  id: string;
  tenant_id: string;
  name: string;
  currency: string;
  timezone: string;
  tax_inclusive: boolean;
  allow_negative_stock: boolean;
  address: Record<string, unknown> | null;
  active: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: 'owner' | 'manager' | 'cashier';
  store_ids: string[];
  password_hash: string | null;
  pin_hash: string | null;
  active: boolean;
  failed_logins: number;
  locked_until: Date | null;
  failed_pins: number;
  pin_locked_until: Date | null;
  last_login_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const tenantView = (t: TenantRow) => ({
  id: t.id,
  name: t.name,
  version: t.version,
  createdAt: t.created_at.toISOString(),
  updatedAt: t.updated_at.toISOString(),
});

export const storeView = (s: StoreRow) => ({
  id: s.id,
  tenantId: s.tenant_id,
  name: s.name,
  currency: s.currency,
  timezone: s.timezone,
  taxInclusive: s.tax_inclusive,
  allowNegativeStock: s.allow_negative_stock,
  address: s.address,
  active: s.active,
  version: s.version,
  createdAt: s.created_at.toISOString(),
  updatedAt: s.updated_at.toISOString(),
});

export const userView = (u: UserRow) => ({
  id: u.id,
  tenantId: u.tenant_id,
  email: u.email,
  name: u.name,
  role: u.role,
  storeIds: u.store_ids,
  active: u.active,
  hasPassword: u.password_hash !== null,
  hasPin: u.pin_hash !== null,
  lastLoginAt: u.last_login_at?.toISOString() ?? null,
  version: u.version,
  createdAt: u.created_at.toISOString(),
  updatedAt: u.updated_at.toISOString(),
});

/** The data of store.created / store.updated events: the whole store, so consumers need no callback. */
export const storeSnapshot = (s: StoreRow) => ({
  storeId: s.id,
  name: s.name,
  currency: s.currency,
  timezone: s.timezone,
  taxInclusive: s.tax_inclusive,
  allowNegativeStock: s.allow_negative_stock,
  active: s.active,
  version: s.version,
});
