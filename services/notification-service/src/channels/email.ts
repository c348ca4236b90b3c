import { createTransport } from 'nodemailer';
import type { NotificationConfig } from '../config';
import { DeliveryError, errorText } from './delivery-error';

export interface EmailMessage {
  to: string[];
  subject: string;
  text: string;
  html?: string | null;
  /** Message-ID header; a retry of the same delivery carries the same one. */
  messageId?: string;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<{ messageId: string }>;
  close?(): void;
}

/**
 * SMTP through nodemailer: one connection per message (no pool), so an SMTP server that restarts
 * never leaves a broken pooled connection behind, and each attempt has hard timeouts.
 */
export class SmtpEmailSender implements EmailSender {
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(config: Pick<NotificationConfig, 'SMTP_HOST' | 'SMTP_PORT' | 'SMTP_SECURE' | 'SMTP_REQUIRE_TLS' | 'SMTP_USER' | 'SMTP_PASSWORD' | 'SMTP_FROM' | 'SMTP_TIMEOUT_MS'>) {
    this.transport = createTransport(
      {
        host: config.SMTP_HOST,
        port: config.SMTP_PORT,
        secure: config.SMTP_SECURE,
        requireTLS: config.SMTP_REQUIRE_TLS,
        auth: config.SMTP_USER && config.SMTP_PASSWORD ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD } : undefined,
        connectionTimeout: config.SMTP_TIMEOUT_MS,
        greetingTimeout: config.SMTP_TIMEOUT_MS,
        socketTimeout: config.SMTP_TIMEOUT_MS,
        disableFileAccess: true,
        disableUrlAccess: true,
      },
      { from: config.SMTP_FROM },
    );
  }

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    try {
      const info = await this.transport.sendMail({
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html ?? undefined,
        messageId: message.messageId,
      });
      if (info.rejected?.length && !info.accepted?.length) throw new DeliveryError(`every recipient was refused: ${info.rejected.join(', ')}`, true);
      return { messageId: info.messageId };
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      // 5xx SMTP replies are permanent (unknown mailbox, policy); 4xx and connection errors are not.
      const code = (err as { responseCode?: number }).responseCode;
      const permanent = typeof code === 'number' && code >= 500 && code < 600;
      throw new DeliveryError(`SMTP: ${errorText(err)}`, permanent, { cause: err });
    }
  }

  close(): void {
    this.transport.close();
  }
}
