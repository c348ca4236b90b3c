import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import { withTransaction, type Pool } from '@pos/database';
import { runWithContext, type Logger } from '@pos/utils';
import type { NotificationConfig } from './config';
import type { ContactDirectory } from './contacts';
import { DeliveryError, errorText } from './channels/delivery-error';
import type { EmailSender } from './channels/email';
import type { PushSender } from './channels/push';
import type { SmsSender } from './channels/sms';
import {
  claimDue,
  finishFailed,
  finishSent,
  markDeliveredTo,
  openAttempts,
  saveResolved,
  type ClaimedDelivery,
} from './data/delivery-repository';
import { deleteSubscription, listSubscriptions } from './data/subscription-repository';
import { findTemplate } from './data/template-repository';
import { backoffMs } from './domain/backoff';
import { renderMessage } from './domain/template';

export interface DeliveryWorkerOptions {
  /** Worker-role pool (BYPASSRLS): claims due deliveries of every tenant. */
  pool: Pool;
  config: Pick<
    NotificationConfig,
    'DELIVERY_BACKOFF_BASE_MS' | 'DELIVERY_BACKOFF_MAX_MS' | 'DELIVERY_LEASE_SECONDS' | 'DELIVERY_POLL_INTERVAL_MS' | 'DELIVERY_BATCH_SIZE' | 'DELIVERY_CONCURRENCY'
  >;
  email: EmailSender;
  sms?: SmsSender;
  push?: PushSender;
  contacts: ContactDirectory;
  logger: Logger;
  /** Only these tenants' deliveries (sharding, and tests that share a database). Default: all. */
  tenantIds?: string[];
  workerId?: string;
  registry?: Registry;
}

interface Sent {
  providerMessageId: string | null;
}

/**
 * Sends queued deliveries with retries and exponential backoff. Every replica may run one: rows are
 * claimed with FOR UPDATE SKIP LOCKED under a lease, so a delivery is worked on by one worker at a
 * time, and one whose worker died is taken over once its lease lapses. Each attempt is a row in
 * `attempts`. A delivery whose send succeeded but whose worker died before recording it is sent again
 * after the lease (at-least-once at the provider boundary; SMTP has no idempotency key), so the lease
 * is much longer than any send timeout.
 */
export class DeliveryWorker {
  readonly workerId: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly outcomes: Counter<'channel' | 'outcome'> | undefined;

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.outcomes = opts.registry
      ? new Counter({
          name: 'notification_delivery_attempts_total',
          help: 'Delivery attempts by channel and outcome (sent, retry, failed)',
          labelNames: ['channel', 'outcome'],
          registers: [opts.registry],
        })
      : undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  /** Cuts the current poll pause short (e.g. right after a delivery was queued in this process). */
  wake(): void {
    clearTimeout(this.timer);
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delay = this.opts.config.DELIVERY_POLL_INTERVAL_MS;
      try {
        if ((await this.runOnce()) >= this.opts.config.DELIVERY_BATCH_SIZE) delay = 0;
      } catch (err) {
        this.opts.logger.error('delivery worker batch failed', { worker: this.workerId, err: errorText(err) });
      }
      if (this.running && delay > 0) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          this.timer = setTimeout(resolve, delay);
        });
      }
    }
  }

  /** Claims one batch of due deliveries and works through it; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const { pool, config } = this.opts;
    const claimed = await withTransaction(pool, async (db) => {
      const rows = await claimDue(db, { limit: config.DELIVERY_BATCH_SIZE, leaseSeconds: config.DELIVERY_LEASE_SECONDS, worker: this.workerId, tenantIds: this.opts.tenantIds });
      await openAttempts(db, rows, this.workerId);
      return rows;
    });
    const queue = [...claimed];
    const lanes = Array.from({ length: Math.min(config.DELIVERY_CONCURRENCY, queue.length) }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) await this.process(d);
    });
    await Promise.all(lanes);
    return claimed.length;
  }

  private async process(d: ClaimedDelivery): Promise<void> {
    const log = this.opts.logger.child({ deliveryId: d.id, tenantId: d.tenant_id, channel: d.channel, attempt: d.attempts, requestId: d.request_id ?? undefined });
    await runWithContext({ requestId: d.request_id ?? d.id, tenantId: d.tenant_id }, async () => {
      let outcome: { ok: true; sent: Sent } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, sent: await this.send(d) };
      } catch (err) {
        outcome = { ok: false, error: err };
      }
      try {
        if (outcome.ok) {
          const recorded = await withTransaction(this.opts.pool, (db) => finishSent(db, d, outcome.sent.providerMessageId));
          if (!recorded) log.warn('delivery sent, but its lease had been taken over by another worker');
          this.outcomes?.inc({ channel: d.channel, outcome: 'sent' });
          log.info('delivery sent');
          return;
        }
        const permanent = outcome.error instanceof DeliveryError && outcome.error.permanent;
        const final = permanent || d.attempts >= d.max_attempts;
        const message = errorText(outcome.error);
        const delay = backoffMs(d.attempts, this.opts.config.DELIVERY_BACKOFF_BASE_MS, this.opts.config.DELIVERY_BACKOFF_MAX_MS);
        await withTransaction(this.opts.pool, (db) => finishFailed(db, d, message, final, delay));
        this.outcomes?.inc({ channel: d.channel, outcome: final ? 'failed' : 'retry' });
        if (final) log.warn('delivery failed for good', { error: message, permanent });
        else log.warn('delivery attempt failed; will retry', { error: message, retryInMs: delay });
      } catch (err) {
        // The row stays `sending`; its lease lapses and a worker takes it over.
        log.error('could not record the delivery outcome', { err: errorText(err) });
      }
    });
  }

  private async send(d: ClaimedDelivery): Promise<Sent> {
    switch (d.channel) {
      case 'email': {
        const message = await this.resolveEmail(d);
        const sent = await this.opts.email.send({ to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: `<${d.id}@cloud-pos>` });
        return { providerMessageId: sent.messageId };
      }
      case 'sms': {
        if (!this.opts.sms) throw new DeliveryError('SMS is not configured', true);
        const to = d.recipients[0];
        if (!to || d.body_text === null) throw new DeliveryError('the SMS has no recipient or text', true);
        return { providerMessageId: (await this.opts.sms.send({ to, body: d.body_text })).messageId };
      }
      case 'push':
        return this.sendPush(d);
    }
  }

  /** Resolves the recipients (contact lookups) and renders the template when the event left that to the worker. */
  private async resolveEmail(d: ClaimedDelivery): Promise<{ to: string[]; subject: string; text: string; html: string | null }> {
    if (!d.lookup && d.subject !== null && d.body_text !== null) {
      if (!d.recipients.length) throw new DeliveryError('no_recipient: the message has no recipient', true);
      return { to: d.recipients, subject: d.subject, text: d.body_text, html: d.body_html };
    }
    const { contacts, pool } = this.opts;
    const data: Record<string, unknown> = { ...(d.data ?? {}) };
    let to = [...d.recipients];
    if (d.lookup?.kind === 'customer') {
      const customer = await contacts.customer(d.tenant_id, d.lookup.customerId);
      if (!customer) throw new DeliveryError('no_recipient: the customer does not exist at customer-service', true);
      if (!customer.email) throw new DeliveryError('no_recipient: the customer has no email address', true);
      to = [customer.email];
      data.customerName = customer.name;
    } else if (d.lookup?.kind === 'store_managers') {
      const [managers, storeName] = await Promise.all([contacts.storeManagers(d.tenant_id, d.lookup.storeId), contacts.storeName(d.tenant_id, d.lookup.storeId)]);
      to = [...new Set([...managers.emails, ...to].map((e) => e.toLowerCase()))];
      data.storeName = storeName ?? (typeof data.storeName === 'string' ? data.storeName : 'your store');
      if (!to.length) {
        throw new DeliveryError(
          managers.refused
            ? 'no_recipient: auth-service refused the store-manager lookup and the tenant has no lowStockRecipients'
            : 'no_recipient: the store has no active managers and the tenant has no lowStockRecipients',
          true,
        );
      }
    }
    let rendered = { subject: d.subject ?? '', text: d.body_text ?? '', html: d.body_html };
    if (d.template && (d.subject === null || d.body_text === null)) {
      const template = await withTransaction(pool, (db) => findTemplate(db, d.tenant_id, d.template!));
      if (!template) throw new DeliveryError(`template "${d.template}" does not exist`, true);
      rendered = renderMessage(template, data);
    }
    await withTransaction(pool, (db) => saveResolved(db, { id: d.id, attempts: d.attempts, recipients: to, subject: rendered.subject, text: rendered.text, html: rendered.html }));
    return { to, ...rendered };
  }

  private async sendPush(d: ClaimedDelivery): Promise<Sent> {
    const { push, pool } = this.opts;
    if (!push) throw new DeliveryError('Web Push is not configured', true);
    const userId = d.recipients[0];
    if (!userId) throw new DeliveryError('the push message has no user', true);
    const subscriptions = await withTransaction(pool, (db) => listSubscriptions(db, d.tenant_id, userId));
    const pending = subscriptions.filter((s) => !d.delivered_to.includes(s.id));
    if (!pending.length) {
      if (d.delivered_to.length) return { providerMessageId: null };
      throw new DeliveryError('no_subscription: the user has no push subscriptions', true);
    }
    const payload = JSON.stringify({ ...(d.data ?? {}), deliveryId: d.id });
    const errors: DeliveryError[] = [];
    let served = 0;
    let gone = 0;
    for (const s of pending) {
      try {
        const result = await push.send({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload);
        if (result.outcome === 'gone') {
          // The browser unsubscribed or the subscription expired: forget it (RFC 8030 §7.3).
          await withTransaction(pool, (db) => deleteSubscription(db, d.tenant_id, s.id));
          gone += 1;
          this.opts.logger.info('push subscription gone; removed', { deliveryId: d.id, subscriptionId: s.id, status: result.status });
          continue;
        }
        await withTransaction(pool, (db) => markDeliveredTo(db, d.id, d.attempts, s.id));
        served += 1;
      } catch (err) {
        errors.push(err instanceof DeliveryError ? err : new DeliveryError(errorText(err), false));
      }
    }
    const reached = served + d.delivered_to.length;
    // Devices that failed for a reason a retry can fix are retried (only they: the others are in
    // delivered_to); a device that can never be reached does not hold back the rest.
    const retryable = errors.filter((e) => !e.permanent);
    if (retryable.length) throw new DeliveryError(`${errors.length} of ${pending.length} device(s) failed: ${retryable[0]!.message}`, false);
    if (errors.length && reached === 0) throw new DeliveryError(`every device failed: ${errors[0]!.message}`, true);
    if (reached === 0 && gone > 0) throw new DeliveryError(`no_subscription: every push subscription of the user is gone (${gone} removed)`, true);
    return { providerMessageId: null };
  }
}
