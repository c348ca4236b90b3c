import type { Queryable } from '@pos/database';
import { DEFAULT_TEMPLATES } from '../domain/default-templates';

export interface TemplateRow {
  tenant_id: string;
  name: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** A template as the API shows it: a tenant's override, or the built-in default (version 0). */
export interface TemplateView {
  name: string;
  description: string | null;
  subject: string;
  text: string;
  html: string | null;
  isDefault: boolean;
  customized: boolean;
  version: number;
  updatedAt: string | null;
}

export function templateView(name: string, row: TemplateRow | undefined): TemplateView | undefined {
  const builtIn = Object.hasOwn(DEFAULT_TEMPLATES, name) ? DEFAULT_TEMPLATES[name] : undefined;
  if (row) {
    return {
      name,
      description: builtIn?.description ?? null,
      subject: row.subject,
      text: row.text_body,
      html: row.html_body,
      isDefault: Boolean(builtIn),
      customized: true,
      version: row.version,
      updatedAt: row.updated_at.toISOString(),
    };
  }
  if (!builtIn) return undefined;
  return { name, description: builtIn.description, subject: builtIn.subject, text: builtIn.text, html: builtIn.html ?? null, isDefault: true, customized: false, version: 0, updatedAt: null };
}

export async function findTemplateRow(db: Queryable, tenantId: string, name: string, forUpdate = false): Promise<TemplateRow | undefined> {
  const { rows } = await db.query<TemplateRow>(`SELECT * FROM notifications.templates WHERE tenant_id = $1 AND name = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, name]);
  return rows[0];
}

/** The tenant's template of that name (override or default), or undefined. */
export async function findTemplate(db: Queryable, tenantId: string, name: string): Promise<TemplateView | undefined> {
  return templateView(name, await findTemplateRow(db, tenantId, name));
}

export async function listTemplates(db: Queryable, tenantId: string): Promise<TemplateView[]> {
  const { rows } = await db.query<TemplateRow>('SELECT * FROM notifications.templates WHERE tenant_id = $1 ORDER BY name', [tenantId]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const names = [...new Set([...Object.keys(DEFAULT_TEMPLATES), ...byName.keys()])].sort();
  return names.map((n) => templateView(n, byName.get(n))!);
}

export async function insertTemplate(db: Queryable, tenantId: string, name: string, t: { subject: string; text: string; html?: string | null }): Promise<TemplateRow | undefined> {
  const { rows } = await db.query<TemplateRow>(
    `INSERT INTO notifications.templates (tenant_id, name, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
    [tenantId, name, t.subject, t.text, t.html ?? null],
  );
  return rows[0];
}

export async function updateTemplate(db: Queryable, tenantId: string, name: string, version: number, t: { subject: string; text: string; html?: string | null }): Promise<TemplateRow | undefined> {
  const { rows } = await db.query<TemplateRow>(
    `UPDATE notifications.templates SET subject = $4, text_body = $5, html_body = $6, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND name = $2 AND version = $3 RETURNING *`,
    [tenantId, name, version, t.subject, t.text, t.html ?? null],
  );
  return rows[0];
}
