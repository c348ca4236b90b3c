import { PG, pgCode, withTenant } from '@pos/database';
import type { RouteTable } from '@pos/http';
import { badRequest, notFound, versionConflict } from '@pos/utils';
import type { NotificationDeps } from '../deps';
import { findTemplateRow, insertTemplate, listTemplates, templateView, updateTemplate } from '../data/template-repository';
import { templateErrors } from '../domain/template';
import { NameParams, PutTemplateBody, TemplateList, TemplateSchema } from './schemas';

const tags = ['notification templates'];

export function templateRoutes(table: RouteTable, deps: NotificationDeps): void {
  const { pool } = deps;

  table.add({
    method: 'get',
    path: '/api/v1/notifications/templates',
    summary: "The tenant's templates: the defaults (receipt, low_stock, welcome, password_reset), as customized, and its own",
    tags,
    roles: ['owner', 'manager'],
    responses: { 200: { description: 'Every template', schema: TemplateList } },
    handler: async ({ auth }) => ({ data: await withTenant(pool, auth.tenantId, (db) => listTemplates(db, auth.tenantId)) }),
  });

  table.add({
    method: 'get',
    path: '/api/v1/notifications/templates/:name',
    summary: 'One template',
    tags,
    roles: ['owner', 'manager'],
    params: NameParams,
    responses: { 200: { description: 'The template', schema: TemplateSchema }, 404: { description: 'No such template' } },
    handler: async ({ params, auth }) => {
      const row = await withTenant(pool, auth.tenantId, (db) => findTemplateRow(db, auth.tenantId, params.name));
      const view = templateView(params.name, row);
      if (!view) throw notFound('Template');
      return view;
    },
  });

  table.add({
    method: 'put',
    path: '/api/v1/notifications/templates/:name',
    summary: 'Customize a default template or create one ({{var}}, {{#list}}…{{/list}}; values are HTML-escaped in html)',
    tags,
    roles: ['owner'],
    params: NameParams,
    body: PutTemplateBody,
    responses: { 200: { description: 'The template', schema: TemplateSchema }, 409: { description: 'Stale version' } },
    handler: async ({ params, body, auth }) => {
      const errors = templateErrors({ subject: body.subject, text: body.text, ...(body.html ? { html: body.html } : {}) });
      if (errors.length) throw badRequest('The template has invalid tags', errors, 'invalid_template');
      const parts = { subject: body.subject, text: body.text, html: body.html ?? null };
      return withTenant(pool, auth.tenantId, async (db) => {
        const current = await findTemplateRow(db, auth.tenantId, params.name, true);
        if (!current) {
          // Version 0 is "the default, never customized"; anything else is stale.
          if (body.version !== undefined && body.version !== 0) throw versionConflict(0);
          const created = await insertTemplate(db, auth.tenantId, params.name, parts).catch((err: unknown) => {
            if (pgCode(err) === PG.uniqueViolation) return undefined;
            throw err;
          });
          if (!created) throw versionConflict(1);
          return templateView(params.name, created)!;
        }
        if (body.version !== undefined && body.version !== current.version) throw versionConflict(current.version);
        const updated = await updateTemplate(db, auth.tenantId, params.name, current.version, parts);
        if (!updated) throw versionConflict(current.version);
        return templateView(params.name, updated)!;
      });
    },
  });
}
