import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createPool } from '@pos/database';

// `npm run events:replay` after a Redis data loss: published outbox rows since a time become
// unpublished again, so the relays send them once more (consumers' inboxes make that harmless).
describe('events:replay', () => {
  const admin = createPool({ connectionString: process.env.DATABASE_ADMIN_URL!, max: 1 });
  afterAll(() => admin.end());

  it('when run with --since, then published events after that time are queued for republishing and older ones are not', async () => {
    const tenantId = randomUUID();
    const [old, recent] = [randomUUID(), randomUUID()];
    for (const [id, at] of [
      [old, "now() - interval '2 days'"],
      [recent, "now() - interval '1 minute'"],
    ]) {
      await admin.query(
        `INSERT INTO auth.outbox (id, tenant_id, type, envelope, created_at, published_at) VALUES ($1, $2, 'test.replayed', '{}', ${at}, now())`,
        [id, tenantId],
      );
    }
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const out = execFileSync(process.execPath, [path.join(__dirname, '../../../scripts/events-replay.mjs'), '--since', since, '--service', 'auth-service'], {
      env: process.env,
      encoding: 'utf8',
    });
    expect(out).toMatch(/auth-service: \d+ event\(s\) queued/);
    const { rows } = await admin.query('SELECT id, published_at IS NULL AS queued FROM auth.outbox WHERE tenant_id = $1 ORDER BY created_at', [tenantId]);
    expect(rows).toEqual([
      { id: old, queued: false },
      { id: recent, queued: true },
    ]);
    await admin.query('DELETE FROM auth.outbox WHERE tenant_id = $1', [tenantId]);
  });

  it('when --since is missing or not a time, then it refuses with usage', () => {
    expect(() => execFileSync(process.execPath, [path.join(__dirname, '../../../scripts/events-replay.mjs'), '--since', 'yesterday'], { env: process.env, stdio: 'pipe' })).toThrow();
  });
});
