import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { withTransaction, type Pool } from '@pos/database';
import { claimDue, openAttempts } from '../src/data/delivery-repository';
import {
  adminPool,
  bearer,
  createShop,
  drain,
  startAuthServer,
  startNotifications,
  startSmtpServer,
  type AuthServer,
  type NotificationsUnderTest,
  type Shop,
  type SmtpSink,
} from './helpers';

describe('notification-service delivery worker', () => {
  let auth: AuthServer;
  let smtp: SmtpSink;
  let svc: NotificationsUnderTest;
  let shop: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    smtp = await startSmtpServer();
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(smtp.port), DELIVERY_BATCH_SIZE: '50', DELIVERY_CONCURRENCY: '4' });
    shop = await createShop(auth);
    svc.tenants.push(shop.tenantId);
    admin = adminPool();
  });
  afterAll(async () => {
    await svc.close();
    await smtp.close();
    await auth.close();
    await admin.end();
  });

  const queueEmail = async (to: string, subject = 'Hello') =>
    (await request(svc.app).post('/api/v1/notifications/email').set(bearer(shop.accessToken)).set('Idempotency-Key', randomUUID()).send({ to, subject, text: 'Body' }).expect(202)).body.id as string;
  const rowOf = async (id: string) => (await admin.query('SELECT status, attempts, worker, lease_until FROM notifications.deliveries WHERE id = $1', [id])).rows[0];

  it('when a worker dies after claiming a delivery, then after its lease another worker sends it once and the lost attempt is marked abandoned', async () => {
    const to = `lease-${randomUUID().slice(0, 6)}@example.test`;
    const id = await queueEmail(to);
    // A worker claims the row and dies before sending anything.
    const claimed = await withTransaction(svc.workerPool, async (db) => {
      const rows = await claimDue(db, { limit: 50, leaseSeconds: 60, worker: 'dead-worker', tenantIds: [shop.tenantId] });
      await openAttempts(db, rows, 'dead-worker');
      return rows;
    });
    expect(claimed.map((c) => c.id)).toContain(id);
    expect(await rowOf(id)).toMatchObject({ status: 'sending', attempts: 1, worker: 'dead-worker' });

    // While the lease holds, nobody else touches it.
    await svc.worker.runOnce();
    expect(smtp.messages.filter((m) => m.to.includes(to))).toEqual([]);
    expect(await rowOf(id)).toMatchObject({ status: 'sending', worker: 'dead-worker' });

    await admin.query("UPDATE notifications.deliveries SET lease_until = now() - interval '1 second' WHERE id = $1", [id]);
    await drain(svc.worker, async () => (await rowOf(id)).status === 'sent');
    expect(await rowOf(id)).toMatchObject({ status: 'sent', attempts: 2, worker: svc.worker.workerId, lease_until: null });
    expect(smtp.messages.filter((m) => m.to.includes(to))).toHaveLength(1);
    const { rows } = await admin.query('SELECT attempt_no, worker, outcome FROM notifications.attempts WHERE delivery_id = $1 ORDER BY attempt_no', [id]);
    expect(rows).toEqual([
      { attempt_no: 1, worker: 'dead-worker', outcome: 'abandoned' },
      { attempt_no: 2, worker: svc.worker.workerId, outcome: 'sent' },
    ]);
  });

  it('when a service restarts with deliveries queued, then a new worker sends every one of them exactly once', async () => {
    const to = `restart-${randomUUID().slice(0, 6)}@example.test`;
    const ids = [await queueEmail(to, 'r1'), await queueEmail(to, 'r2')];
    const restarted = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(smtp.port) });
    restarted.tenants.push(shop.tenantId);
    try {
      await drain(restarted.worker, async () => (await Promise.all(ids.map(rowOf))).every((r) => r.status === 'sent'));
      await restarted.worker.runOnce();
    } finally {
      await restarted.close();
    }
    expect(smtp.messages.filter((m) => m.to.includes(to)).map((m) => m.subject).sort()).toEqual(['r1', 'r2']);
  });

  it('when two workers (replicas) run at the same time, then every delivery is claimed by one of them and sent exactly once', async () => {
    const to = `race-${randomUUID().slice(0, 6)}@example.test`;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await queueEmail(to, `race ${i}`));
    // Small batches, so the two replicas interleave on the same backlog.
    const a = svc.newWorker('replica-a', { DELIVERY_BATCH_SIZE: 2 });
    const b = svc.newWorker('replica-b', { DELIVERY_BATCH_SIZE: 2 });
    let claims = 0;
    const replica = async (w: typeof a) => {
      for (let i = 0; i < 300; i++) {
        const n = await w.runOnce();
        claims += n;
        if (n > 0) continue;
        if ((await Promise.all(ids.map(rowOf))).every((r) => r.status === 'sent')) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await Promise.all([replica(a), replica(b)]);
    expect(claims).toBe(12);

    const received = smtp.messages.filter((m) => m.to.includes(to));
    expect(received.map((m) => m.subject).sort()).toEqual(ids.map((_, i) => `race ${i}`).sort());
    expect(new Set(received.map((m) => m.messageId)).size).toBe(12);
    const { rows } = await admin.query('SELECT count(*)::int AS attempts, array_agg(DISTINCT worker ORDER BY worker) AS workers FROM notifications.attempts WHERE delivery_id = ANY($1::uuid[])', [ids]);
    expect(rows[0]).toEqual({ attempts: 12, workers: ['replica-a', 'replica-b'] });
  });

  it('when the worker loop runs in the background, then a queued delivery is picked up without calling runOnce', async () => {
    const background = svc.newWorker('background');
    background.start();
    try {
      const to = `loop-${randomUUID().slice(0, 6)}@example.test`;
      const id = await queueEmail(to);
      background.wake();
      for (let i = 0; i < 100 && (await rowOf(id)).status !== 'sent'; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await rowOf(id)).status).toBe('sent');
      expect(smtp.messages.filter((m) => m.to.includes(to))).toHaveLength(1);
    } finally {
      await background.stop();
    }
  });
});
