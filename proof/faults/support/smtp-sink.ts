// The SMTP server notification-service sends to, in the test process: records every message (by
// the Message-ID notification-service sets, `<deliveryId@cloud-pos>`) and can be stopped and started
// again on the same port.
import { SMTPServer } from 'smtp-server';

export class SmtpSink {
  private server: SMTPServer | undefined;
  /** Message-ID -> how many times it arrived. */
  readonly received = new Map<string, number>();

  constructor(readonly port: number) {}

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      // A stop must not wait for the client's pooled connections to go idle.
      closeTimeout: 500,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const id = /^message-id:\s*(<[^>\r\n]+>)/im.exec(raw)?.[1] ?? `(no id ${this.received.size})`;
          this.received.set(id, (this.received.get(id) ?? 0) + 1);
          callback();
        });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
