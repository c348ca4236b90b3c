import type { Redis } from 'ioredis';
import type { Pool } from '@pos/database';
import type { TokenVerifier } from '@pos/http';
import type { Logger } from '@pos/utils';
import type { NotificationConfig } from './config';
import type { ContactDirectory } from './contacts';
import type { EmailSender } from './channels/email';
import type { PushSender } from './channels/push';
import type { SmsSender } from './channels/sms';

export interface NotificationDeps {
  config: NotificationConfig;
  logger: Logger;
  pool: Pool;
  redis: Redis;
  verifier: TokenVerifier;
  contacts: ContactDirectory;
  email: EmailSender;
  /** Absent when SMS_PROVIDER_URL is not configured (the SMS route answers 503). */
  sms?: SmsSender;
  /** Absent when the VAPID keys are not configured (the push send route answers 503). */
  push?: PushSender;
  /** Called after a delivery was queued, to wake this process's worker (the poll catches it anyway). */
  onQueued?: () => void;
}
