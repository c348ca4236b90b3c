import { generateRequestDetails, type RequestDetails } from 'web-push';
import type { NotificationConfig } from '../config';
import { DeliveryError, errorText } from './delivery-error';

export interface PushTarget {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export type PushResult = { outcome: 'sent' } | { outcome: 'gone'; status: number };

export interface PushSender {
  /** Sends one encrypted message to one browser subscription. */
  send(target: PushTarget, payload: string): Promise<PushResult>;
}

/**
 * Web Push (RFC 8030/8291/8292): the `web-push` library encrypts the payload (aes128gcm) and signs
 * the VAPID JWT; the request itself is sent with fetch, so timeouts are uniform with the other
 * channels. 404/410 from the push service mean the subscription is gone for good.
 */
export class WebPushSender implements PushSender {
  constructor(
    private readonly config: Pick<NotificationConfig, 'VAPID_PUBLIC_KEY' | 'VAPID_PRIVATE_KEY' | 'VAPID_SUBJECT' | 'PUSH_TIMEOUT_MS' | 'PUSH_TTL_SECONDS'>,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async send(target: PushTarget, payload: string): Promise<PushResult> {
    const { VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT, PUSH_TIMEOUT_MS, PUSH_TTL_SECONDS } = this.config;
    if (!VAPID_PUBLIC_KEY || !VAPID_PRIVATE_KEY || !VAPID_SUBJECT) throw new DeliveryError('Web Push is not configured', true);
    let details: RequestDetails;
    try {
      details = generateRequestDetails({ endpoint: target.endpoint, keys: target.keys }, payload, {
        vapidDetails: { subject: VAPID_SUBJECT, publicKey: VAPID_PUBLIC_KEY, privateKey: VAPID_PRIVATE_KEY },
        TTL: PUSH_TTL_SECONDS,
        contentEncoding: 'aes128gcm',
        urgency: 'normal',
      });
    } catch (err) {
      // Malformed subscription keys: retrying cannot help.
      throw new DeliveryError(`Web Push: ${errorText(err)}`, true, { cause: err });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) {
      if (name.toLowerCase() !== 'content-length') headers[name] = String(value);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(details.endpoint, {
        method: 'POST',
        headers,
        body: details.body ? new Uint8Array(details.body) : undefined,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw new DeliveryError(`push service unreachable: ${(err as Error).name === 'TimeoutError' ? 'timed out' : errorText(err)}`, false, { cause: err });
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { outcome: 'sent' };
    if (res.status === 404 || res.status === 410) return { outcome: 'gone', status: res.status };
    // 413 (payload too large) and 400 (bad request) will not change on retry; 429/5xx may.
    const permanent = res.status === 400 || res.status === 413;
    throw new DeliveryError(`push service answered ${res.status}`, permanent);
  }
}
