import type { Queryable } from '@pos/database';

export interface SettingsRow {
  tenant_id: string;
  receipt_emails: boolean;
  low_stock_recipients: string[];
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface Settings {
  receiptEmails: boolean;
  lowStockRecipients: string[];
  /** 0 until the owner first saves settings (the defaults apply). */
  version: number;
  updatedAt: string | null;
}

export const DEFAULT_SETTINGS: Settings = { receiptEmails: false, lowStockRecipients: [], version: 0, updatedAt: null };

export const settingsView = (row: SettingsRow | undefined): Settings =>
  row ? { receiptEmails: row.receipt_emails, lowStockRecipients: row.low_stock_recipients, version: row.version, updatedAt: row.updated_at.toISOString() } : DEFAULT_SETTINGS;

export async function findSettings(db: Queryable, tenantId: string, forUpdate = false): Promise<SettingsRow | undefined> {
  const { rows } = await db.query<SettingsRow>(`SELECT * FROM notifications.settings WHERE tenant_id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId]);
  return rows[0];
}

/** Inserts or updates (version + 1) the tenant's settings with the merged values. */
export async function saveSettings(db: Queryable, tenantId: string, s: { receiptEmails: boolean; lowStockRecipients: string[] }): Promise<SettingsRow> {
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO notifications.settings (tenant_id, receipt_emails, low_stock_recipients) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE SET receipt_emails = EXCLUDED.receipt_emails, low_stock_recipients = EXCLUDED.low_stock_recipients,
            version = settings.version + 1, updated_at = now()
     RETURNING *`,
    [tenantId, s.receiptEmails, s.lowStockRecipients],
  );
  return rows[0]!;
}
