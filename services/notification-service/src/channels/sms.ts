import type { NotificationConfig } from '../config';
import { DeliveryError, errorText } from './delivery-error';

export interface SmsMessage {
  to: string;
  body: string;
}

/** An SMS provider; the HTTP one below speaks the Twilio Messages API. */
export interface SmsSender {
  send(message: SmsMessage): Promise<{ messageId: string | null }>;
}

/**
 * Twilio-compatible: `POST {SMS_PROVIDER_URL}` with form fields `To`, `From`, `Body` and HTTP basic
 * auth (account SID : auth token); the answer's `sid` is the provider's message id.
 */
export class HttpSmsSender implements SmsSender {
  constructor(
    private readonly config: Pick<NotificationConfig, 'SMS_PROVIDER_URL' | 'SMS_ACCOUNT_SID' | 'SMS_AUTH_TOKEN' | 'SMS_FROM' | 'SMS_TIMEOUT_MS'>,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async send(message: SmsMessage): Promise<{ messageId: string | null }> {
    const { SMS_PROVIDER_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM, SMS_TIMEOUT_MS } = this.config;
    if (!SMS_PROVIDER_URL || !SMS_ACCOUNT_SID || !SMS_AUTH_TOKEN || !SMS_FROM) throw new DeliveryError('SMS is not configured', true);
    let res: Response;
    try {
      res = await this.fetchImpl(SMS_PROVIDER_URL, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${SMS_ACCOUNT_SID}:${SMS_AUTH_TOKEN}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ To: message.to, From: SMS_FROM, Body: message.body }).toString(),
        signal: AbortSignal.timeout(SMS_TIMEOUT_MS),
      });
    } catch (err) {
      throw new DeliveryError(`SMS provider unreachable: ${(err as Error).name === 'TimeoutError' ? 'timed out' : errorText(err)}`, false, { cause: err });
    }
    const text = await res.text().catch(() => '');
    let body: { sid?: unknown; message?: unknown } = {};
    try {
      body = text ? (JSON.parse(text) as typeof body) : {};
    } catch {
      // not JSON: keep the status only
    }
    if (res.ok) return { messageId: typeof body.sid === 'string' ? body.sid : null };
    const detail = typeof body.message === 'string' ? `: ${body.message}` : '';
    // A 4xx about the message (bad number, unsubscribed recipient) will not fix itself; a timeout, a
    // rate limit, an outage or refused credentials (an operator can fix those) may.
    const permanent = res.status >= 400 && res.status < 500 && ![401, 403, 408, 429].includes(res.status);
    throw new DeliveryError(`SMS provider answered ${res.status}${detail}`.slice(0, 500), permanent);
  }
}
