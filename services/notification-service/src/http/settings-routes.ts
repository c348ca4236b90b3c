import { withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { versionConflict } from '@pos/utils';
import type { NotificationDeps } from '../deps';
import { findSettings, saveSettings, settingsView } from '../data/settings-repository';
import { PutSettingsBody, SettingsSchema } from './schemas';

const tags = ['notification settings'];

export function settingsRoutes(table: RouteTable, deps: NotificationDeps): void {
  const { pool } = deps;

  table.add({
    method: 'get',
    path: '/api/v1/notifications/settings',
    summary: "The tenant's notification settings (receipt emails opt-in, low-stock recipients)",
    tags,
    roles: ['owner', 'manager'],
    responses: { 200: { description: 'The settings (defaults: receiptEmails false, no extra recipients, version 0)', schema: SettingsSchema } },
    handler: async ({ auth }) => settingsView(await withTenant(pool, auth.tenantId, (db) => findSettings(db, auth.tenantId))),
  });

  table.add({
    method: 'put',
    path: '/api/v1/notifications/settings',
    summary: 'Change the settings; fields left out keep their value (a given version is checked)',
    tags,
    roles: ['owner'],
    body: PutSettingsBody,
    responses: { 200: { description: 'The settings', schema: SettingsSchema }, 409: { description: 'Stale version' } },
    handler: ({ body, auth }) =>
      withTenant(pool, auth.tenantId, async (db) => {
        const current = settingsView(await findSettings(db, auth.tenantId, true));
        if (body.version !== undefined && body.version !== current.version) throw versionConflict(current.version);
        const saved = await saveSettings(db, auth.tenantId, {
          receiptEmails: body.receiptEmails ?? current.receiptEmails,
          lowStockRecipients: body.lowStockRecipients ?? current.lowStockRecipients,
        });
        return settingsView(saved);
      }),
  });
}
