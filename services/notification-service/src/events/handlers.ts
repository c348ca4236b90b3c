import { EVENTS, EventDataSchemas, type EventEnvelope, type z } from '@pos/types';
import { InvalidEventError, type EventHandler } from '@pos/events';
import type { PoolClient } from '@pos/database';
import type { Logger } from '@pos/utils';
import type { NotificationConfig } from '../config';
import { insertDelivery, type NewDelivery } from '../data/delivery-repository';
import { findSettings, settingsView } from '../data/settings-repository';
import { findTemplate } from '../data/template-repository';
import { SaleCompletedData, receiptData } from '../domain/receipt';
import { renderMessage } from '../domain/template';

export const CONSUMER_GROUP = 'notification-service';
/** Producers whose streams this service reads. */
export const CONSUMED_STREAMS = ['transaction-service', 'inventory-service', 'auth-service'];

interface HandlerContext {
  config: Pick<NotificationConfig, 'APP_PUBLIC_URL' | 'INVITE_PATH' | 'PASSWORD_RESET_PATH' | 'DELIVERY_MAX_ATTEMPTS' | 'EVENT_MAX_AGE_MINUTES'>;
  logger: Logger;
  onQueued?: () => void;
}

/**
 * Turns events into deliveries. Each handler runs in the consumer's transaction that also records the
 * event in the inbox, so the delivery row exists exactly when the event counts as handled; the
 * unique (tenant, event, channel) on deliveries keeps it at one even if the inbox were bypassed.
 * Contact lookups (customer email, store managers) are left to the delivery worker, so an outage of
 * customer-service or auth-service never holds up the event stream.
 */
export function notificationEventHandlers(ctx: HandlerContext): Record<string, EventHandler> {
  const { config, logger } = ctx;

  const tooOld = (event: EventEnvelope) => {
    const age = Date.now() - Date.parse(event.occurredAt);
    if (Number.isFinite(age) && age > config.EVENT_MAX_AGE_MINUTES * 60_000) {
      logger.info('event too old to notify about; skipped', { eventId: event.id, eventType: event.type, occurredAt: event.occurredAt });
      return true;
    }
    return false;
  };

  const queue = async (client: PoolClient, event: EventEnvelope, d: Omit<NewDelivery, 'tenantId' | 'source' | 'eventId' | 'eventType' | 'requestId' | 'maxAttempts'>) => {
    const row = await insertDelivery(client, {
      ...d,
      tenantId: event.tenantId,
      source: 'event',
      eventId: event.id,
      eventType: event.type,
      requestId: event.requestId ?? null,
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    });
    if (row) ctx.onQueued?.();
    else logger.info('delivery for this event already exists', { eventId: event.id, eventType: event.type });
  };

  const link = (path: string, token: string) => `${config.APP_PUBLIC_URL.replace(/\/+$/, '')}${path}?token=${encodeURIComponent(token)}`;

  const renderNamed = async (client: PoolClient, tenantId: string, name: string, data: Record<string, unknown>) => {
    const template = await findTemplate(client, tenantId, name);
    if (!template) throw new Error(`template ${name} is missing`);
    return renderMessage(template, data);
  };

  const parse = <S extends z.ZodTypeAny>(event: EventEnvelope, schema: S): z.infer<S> => {
    const parsed = schema.safeParse(event.data);
    if (!parsed.success) throw new InvalidEventError(`data of ${event.type} does not match what notification-service needs`, parsed.error.issues);
    return parsed.data;
  };

  return {
    [EVENTS.saleCompleted]: async (event, client) => {
      const sale = parse(event, SaleCompletedData);
      if (sale.status !== 'completed' || !sale.customerId || tooOld(event)) return;
      const settings = settingsView(await findSettings(client, event.tenantId));
      if (!settings.receiptEmails) return;
      // Rendered by the worker once the customer's address and name are known.
      await queue(client, event, {
        channel: 'email',
        recipients: [],
        template: 'receipt',
        data: receiptData(sale),
        lookup: { kind: 'customer', customerId: sale.customerId },
      });
    },

    [EVENTS.stockLow]: async (event, client) => {
      const low = parse(event, EventDataSchemas[EVENTS.stockLow]);
      if (tooOld(event)) return;
      const settings = settingsView(await findSettings(client, event.tenantId));
      await queue(client, event, {
        channel: 'email',
        recipients: settings.lowStockRecipients,
        template: 'low_stock',
        data: { ...low, storeName: low.storeId },
        lookup: { kind: 'store_managers', storeId: low.storeId },
      });
    },

    [EVENTS.userInvited]: async (event, client) => {
      const invite = parse(event, EventDataSchemas[EVENTS.userInvited]);
      if (Date.parse(invite.expiresAt) <= Date.now() || tooOld(event)) return;
      const data = { name: invite.name, email: invite.email, link: link(config.INVITE_PATH, invite.setPasswordToken), expiresAt: invite.expiresAt };
      const message = await renderNamed(client, event.tenantId, 'welcome', data);
      await queue(client, event, { channel: 'email', recipients: [invite.email], template: 'welcome', subject: message.subject, text: message.text, html: message.html, sensitive: true });
    },

    [EVENTS.userPasswordResetRequested]: async (event, client) => {
      const reset = parse(event, EventDataSchemas[EVENTS.userPasswordResetRequested]);
      if (Date.parse(reset.expiresAt) <= Date.now() || tooOld(event)) return;
      const data = { name: reset.name, email: reset.email, link: link(config.PASSWORD_RESET_PATH, reset.resetToken), expiresAt: reset.expiresAt };
      const message = await renderNamed(client, event.tenantId, 'password_reset', data);
      await queue(client, event, { channel: 'email', recipients: [reset.email], template: 'password_reset', subject: message.subject, text: message.text, html: message.html, sensitive: true });
    },
  };
}
