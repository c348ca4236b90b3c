import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { withTenant, type PoolClient } from '@pos/database';
import { IdempotencyKeyHeader, idempotency, type AuthContext, type RouteTable } from '@pos/http';
import { ProblemError, badRequest, cardDataPaths, conflict, currentContext, serviceUnavailable } from '@pos/utils';
import type { NotificationDeps } from '../deps';
import { SCHEMA } from '../schema';
import { deliveryView, findDeliveryByRequestKey, insertDelivery, type Channel, type DeliveryRow, type NewDelivery } from '../data/delivery-repository';
import { findTemplate } from '../data/template-repository';
import { countSubscriptions } from '../data/subscription-repository';
import { SENSITIVE_TEMPLATES } from '../domain/default-templates';
import { renderMessage, templateErrors, type RenderedMessage } from '../domain/template';
import { DeliverySchema, SendEmailBody, SendPushBody, SendSmsBody } from './schemas';

const tags = ['notifications'];
/** Sending is for managers, owners and other services (POS-DESIGN §11: "sending notifications"). */
export const SENDERS = ['owner', 'manager', 'service'] as const;

/** Card numbers never go out in a message (nor get stored in the delivery log). */
function refuseCardData(req: Request, _res: Response, next: NextFunction): void {
  const paths = cardDataPaths(req.body ?? {});
  if (!paths.length) return next();
  next(
    new ProblemError(
      400,
      'card_data_refused',
      'Bad Request',
      'Card numbers and security codes must never be sent in a notification',
      paths.map((path) => ({ path, message: 'looks like card data and was refused' })),
    ),
  );
}

export function sendRoutes(table: RouteTable, deps: NotificationDeps): void {
  const { pool, config } = deps;
  const idempotent: RequestHandler = idempotency({ pool, schema: SCHEMA, logger: deps.logger });

  /** Renders a named template of the tenant, or inline parts, as the message to store. */
  const render = async (db: PoolClient, tenantId: string, input: { template?: string; subject?: string; text?: string; html?: string; data?: Record<string, unknown> }): Promise<RenderedMessage> => {
    const data = input.data ?? {};
    if (input.template) {
      const template = await findTemplate(db, tenantId, input.template);
      if (!template) throw badRequest('There is no such template', [{ path: 'template', message: 'is not a template of this tenant' }], 'unknown_template');
      return renderMessage(template, data);
    }
    const parts = { subject: input.subject ?? '', text: input.text ?? '', html: input.html ?? null };
    const errors = templateErrors({ subject: parts.subject, text: parts.text, ...(parts.html ? { html: parts.html } : {}) });
    if (errors.length) throw badRequest('The message has invalid template tags', errors, 'invalid_template');
    return renderMessage(parts, data);
  };

  /** Queues the delivery once per Idempotency-Key, even if the idempotency record's lease was taken over. */
  const queue = async (req: Request, auth: AuthContext, channel: Channel, build: (db: PoolClient) => Promise<Omit<NewDelivery, 'tenantId' | 'channel' | 'source' | 'requestKey' | 'requestId' | 'requestedBy' | 'maxAttempts'>>): Promise<DeliveryRow> => {
    const key = req.get('Idempotency-Key')!;
    const row = await withTenant(pool, auth.tenantId, async (db) => {
      const existing = await findDeliveryByRequestKey(db, auth.tenantId, channel, key);
      if (existing) return existing;
      const fields = await build(db);
      return (
        (await insertDelivery(db, {
          ...fields,
          tenantId: auth.tenantId,
          channel,
          source: 'api',
          requestKey: key,
          requestId: currentContext()?.requestId ?? null,
          requestedBy: auth.userId,
          maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
        })) ?? (await findDeliveryByRequestKey(db, auth.tenantId, channel, key))!
      );
    });
    deps.onQueued?.();
    return row;
  };

  table.add({
    method: 'post',
    path: '/api/v1/notifications/email',
    summary: 'Queue an email: a template of the tenant with data, or subject + text (+ html)',
    tags,
    roles: SENDERS,
    headers: IdempotencyKeyHeader,
    before: [refuseCardData, idempotent],
    body: SendEmailBody,
    responses: { 202: { description: 'Queued: the delivery (its status changes as the worker sends it)', schema: DeliverySchema } },
    handler: async ({ req, body, auth }) => {
      const row = await queue(req, auth, 'email', async (db) => {
        const message = await render(db, auth.tenantId, body);
        return {
          recipients: body.to,
          template: body.template ?? null,
          subject: message.subject,
          text: message.text,
          html: message.html,
          sensitive: Boolean(body.template && SENSITIVE_TEMPLATES.has(body.template)),
        };
      });
      return deliveryView(row);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/notifications/sms',
    summary: 'Queue an SMS to an E.164 number: a template (its text body) with data, or text',
    tags,
    roles: SENDERS,
    headers: IdempotencyKeyHeader,
    before: [refuseCardData, idempotent],
    body: SendSmsBody,
    responses: { 202: { description: 'Queued', schema: DeliverySchema }, 503: { description: 'SMS is not configured on this deployment' } },
    handler: async ({ req, body, auth }) => {
      if (!deps.sms) throw serviceUnavailable('SMS is not configured (SMS_PROVIDER_URL)', 'sms_not_configured');
      const row = await queue(req, auth, 'sms', async (db) => {
        const message = body.template ? await render(db, auth.tenantId, { template: body.template, data: body.data }) : await render(db, auth.tenantId, { subject: 'sms', text: body.text, data: body.data });
        const text = message.text.trim();
        if (!text) throw badRequest('The SMS would be empty', [{ path: body.template ? 'template' : 'text', message: 'renders to an empty message' }]);
        if (text.length > 1_600) throw badRequest('The SMS is too long', [{ path: body.template ? 'template' : 'text', message: 'renders to more than 1600 characters' }]);
        return { recipients: [body.to], template: body.template ?? null, subject: null, text, html: null, sensitive: Boolean(body.template && SENSITIVE_TEMPLATES.has(body.template)) };
      });
      return deliveryView(row);
    },
  });

  table.add({
    method: 'post',
    path: '/api/v1/notifications/push',
    summary: 'Queue a Web Push notification to every device a user subscribed',
    tags,
    roles: SENDERS,
    headers: IdempotencyKeyHeader,
    before: [refuseCardData, idempotent],
    body: SendPushBody,
    responses: {
      202: { description: 'Queued', schema: DeliverySchema },
      409: { description: 'The user has no push subscription' },
      503: { description: 'Web Push is not configured on this deployment' },
    },
    handler: async ({ req, body, auth }) => {
      if (!deps.push) throw serviceUnavailable('Web Push is not configured (VAPID keys)', 'push_not_configured');
      const row = await queue(req, auth, 'push', async (db) => {
        if ((await countSubscriptions(db, auth.tenantId, body.userId)) === 0) throw conflict('The user has no push subscription in this tenant', 'no_push_subscription');
        const payload = { title: body.title, body: body.body, ...(body.url ? { url: body.url } : {}), ...(body.data ? { data: body.data } : {}) };
        return { recipients: [body.userId], template: null, subject: body.title, text: body.body, html: null, data: payload };
      });
      return deliveryView(row);
    },
  });
}
