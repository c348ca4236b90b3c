import { ListQuerySchema, listResponse, z } from '@pos/types';

/** Cross-field rules also run when single fields failed, so a 400 names every problem at once. */
const always = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null };

export const Uuid = z.string().uuid('must be a uuid');
export const Email = z.string().trim().max(254).email('must be an email address');
/** E.164: a plus, the country code and the number, 8 to 15 digits in all. */
export const E164 = z.string().trim().regex(/^\+[1-9]\d{7,14}$/, 'must be an E.164 phone number, e.g. +14155550123');
export const TemplateName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be 1-64 lower-case letters, digits or underscores, starting with a letter');

const Data = z
  .record(z.string(), z.unknown())
  .refine((d) => JSON.stringify(d).length <= 64 * 1024, 'must be at most 64 KB as JSON')
  .openapi({ description: 'Template variables: {{name}}, {{#list}}…{{/list}}' });

export const SendEmailBody = z
  .object({
    to: z.union([Email.transform((e) => [e]), z.array(Email).min(1, 'needs at least one address').max(50)]),
    template: TemplateName.optional(),
    data: Data.optional(),
    subject: z.string().trim().min(1).max(300).optional(),
    text: z.string().min(1).max(100_000).optional(),
    html: z.string().min(1).max(500_000).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (Boolean(b.template) === Boolean(b.text)) ctx.addIssue({ code: 'custom', path: ['template'], message: 'give exactly one of template or text' });
    if (b.text && !b.subject) ctx.addIssue({ code: 'custom', path: ['subject'], message: 'is required with text' });
    if (b.html && !b.text) ctx.addIssue({ code: 'custom', path: ['html'], message: 'goes with text (a template has its own html)' });
  }, always)
  .openapi('SendEmailRequest');

export const SendSmsBody = z
  .object({
    to: E164,
    template: TemplateName.optional(),
    data: Data.optional(),
    text: z.string().min(1).max(1_600).optional(),
  })
  .strict()
  .refine((b) => Boolean(b.template) !== Boolean(b.text), { message: 'give exactly one of template or text', path: ['template'], ...always })
  .openapi('SendSmsRequest');

export const SendPushBody = z
  .object({
    userId: Uuid,
    title: z.string().trim().min(1).max(120),
    body: z.string().trim().min(1).max(1_000),
    /** Opened when the notification is clicked (a path of the app, or an https URL). */
    url: z
      .string()
      .max(2_000)
      .regex(/^(\/|https:\/\/)/, 'must be a path starting with / or an https:// URL')
      .optional(),
    data: z
      .record(z.string(), z.unknown())
      .refine((d) => JSON.stringify(d).length <= 2_000, 'must be at most 2 KB as JSON')
      .optional(),
  })
  .strict()
  .openapi('SendPushRequest');

export const SubscriptionBody = z
  .object({
    /** The browser's PushSubscription.toJSON(). */
    subscription: z
      .object({
        endpoint: z.string().url('must be a URL').max(2_000),
        expirationTime: z.number().nullable().optional(),
        keys: z
          .object({
            p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}={0,2}$/, 'must be the base64url P-256 public key of the subscription'),
            auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}={0,2}$/, 'must be the base64url auth secret of the subscription'),
          })
          .strict(),
      })
      .strict(),
    /** Stable id of the device or browser profile; one subscription is kept per user and device. */
    deviceId: z.string().trim().min(1).max(200).optional(),
    userAgent: z.string().max(500).optional(),
  })
  .strict()
  .openapi('PushSubscriptionRequest');

export const SubscriptionSchema = z
  .object({ id: Uuid, userId: z.string(), deviceId: z.string(), endpointOrigin: z.string(), userAgent: z.string().nullable(), createdAt: z.string(), updatedAt: z.string() })
  .openapi('PushSubscription');

const HistoryItem = z.object({ attempt: z.number().int(), outcome: z.enum(['running', 'sent', 'error', 'abandoned']), error: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable() });

export const DeliverySchema = z
  .object({
    id: Uuid,
    channel: z.enum(['email', 'sms', 'push']),
    status: z.enum(['queued', 'sending', 'sent', 'failed']),
    to: z.array(z.string()),
    template: z.string().nullable(),
    subject: z.string().nullable(),
    text: z.string().nullable().optional(),
    html: z.string().nullable().optional(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    source: z.enum(['api', 'event']),
    eventId: Uuid.nullable(),
    eventType: z.string().nullable(),
    requestedBy: z.string().nullable(),
    sentAt: z.string().nullable(),
    failedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    history: z.array(HistoryItem).optional(),
  })
  .openapi('Delivery');

export const DeliveryQuery = ListQuerySchema.extend({
  channel: z.enum(['email', 'sms', 'push']).optional(),
  status: z.enum(['queued', 'sending', 'sent', 'failed']).optional(),
});

export const TemplateSchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    subject: z.string(),
    text: z.string(),
    html: z.string().nullable(),
    isDefault: z.boolean(),
    customized: z.boolean(),
    version: z.number().int(),
    updatedAt: z.string().nullable(),
  })
  .openapi('NotificationTemplate');

export const PutTemplateBody = z
  .object({
    subject: z.string().trim().min(1).max(300),
    text: z.string().min(1).max(100_000),
    html: z.string().min(1).max(500_000).nullable().optional(),
    /** The version you read (0 for a default never customized); a stale one -> 409. */
    version: z.number().int().min(0).optional(),
  })
  .strict()
  .openapi('PutTemplateRequest');

export const SettingsSchema = z
  .object({ receiptEmails: z.boolean(), lowStockRecipients: z.array(z.string()), version: z.number().int(), updatedAt: z.string().nullable() })
  .openapi('NotificationSettings');

export const PutSettingsBody = z
  .object({
    /** Email a receipt to the customer of every completed sale that names one (default false). */
    receiptEmails: z.boolean().optional(),
    /** Always copied on low-stock alerts, besides the store's managers. */
    lowStockRecipients: z
      .array(Email.transform((e) => e.toLowerCase()))
      .max(20)
      .refine((l) => new Set(l).size === l.length, 'must not repeat an address')
      .optional(),
    version: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((b) => b.receiptEmails !== undefined || b.lowStockRecipients !== undefined, { message: 'give receiptEmails and/or lowStockRecipients', path: ['receiptEmails'] })
  .openapi('PutNotificationSettingsRequest');

export const IdParams = z.object({ id: Uuid });
export const NameParams = z.object({ name: TemplateName });
export const DeliveryList = listResponse(DeliverySchema).openapi('DeliveryList');
export const TemplateList = z.object({ data: z.array(TemplateSchema) }).openapi('NotificationTemplateList');
export const SubscriptionList = z.object({ data: z.array(SubscriptionSchema) }).openapi('PushSubscriptionList');
