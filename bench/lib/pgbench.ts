// pgbench as a child process (the SQL ceiling of the checkout), and the Postgres connection slots
// it needs on a server that the services and other people's runs share.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { cpuReport, snapshot, type CpuGroup, type CpuReport } from './cpu';
import { latencySummary, type Measurement } from './load';

const children = new Set<ChildProcess>();
/** Synchronous last resort (process exit): no pgbench outlives the run. */
export function killPgbenchNow(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
export function stopPgbench(): void {
  for (const c of children) c.kill('SIGTERM');
}

export interface PgbenchOptions {
  title: string;
  script: string;
  database: string;
  host: string;
  user: string;
  mode: 'prepared' | 'extended';
  clients: number;
  threads: number;
  seconds: number;
  vars: Record<string, string>;
  /** Per-transaction log, for latency percentiles. */
  keepLog: boolean;
  cpu?: CpuGroup[];
  /** Transactions per second, evenly scheduled (pgbench -R); latency then counts from the scheduled start. */
  rate?: number;
}

export interface PgbenchRun {
  measurement: Measurement;
  /** pgbench's own figures. */
  tps: number;
  processed: number;
  failed: number;
  aborted: boolean;
  stderrTail: string;
  cpu?: CpuReport;
}

/**
 * Latency percentiles come from pgbench's per-transaction log. With `cpu`, CPU is taken over a window
 * inside the run (from 1 s after the start, when its connections are open, to 0.5 s before the end):
 * pgbench's own backends start and exit with it, so snapshots around the run would not see them.
 */
export async function runPgbench(o: PgbenchOptions): Promise<PgbenchRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pos-bench-pgbench-'));
  const url = new URL(`postgres://${o.host}`);
  try {
    const argv = [
      '-n',
      '-h', url.hostname,
      '-p', url.port || '5432',
      '-U', o.user,
      '-M', o.mode,
      '-c', String(o.clients),
      '-j', String(Math.min(o.threads, o.clients)),
      '-T', String(o.seconds),
      '-f', o.script,
      ...(o.rate ? ['-R', String(o.rate)] : []),
      ...(o.keepLog ? ['-l', `--log-prefix=${path.join(dir, 'tx')}`] : []),
      ...Object.entries(o.vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      o.database,
    ];
    const child = spawn('pgbench', argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(process.env.PGPASSWORD ? { PGPASSWORD: process.env.PGPASSWORD } : {}) } });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    let before: ReturnType<typeof snapshot> | undefined;
    let after: ReturnType<typeof snapshot> | undefined;
    const cpu = o.cpu;
    const timers = cpu && o.seconds >= 3 ? [setTimeout(() => (before = snapshot(cpu)), 1000), setTimeout(() => (after = snapshot(cpu)), (o.seconds - 0.5) * 1000)] : [];
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`pgbench could not start (${err.message}); install it with the Postgres client (apt-get install -y postgresql-client-15)`)));
      child.once('exit', (c) => resolve(c));
    });
    children.delete(child);
    timers.forEach((t) => clearTimeout(t));
    const num = (re: RegExp) => {
      const m = re.exec(stdout);
      return m ? Number(m[1]) : NaN;
    };
    const tps = num(/^tps = ([\d.]+)/m);
    const processed = num(/number of transactions actually processed: (\d+)/);
    const failedMatch = num(/number of failed transactions: (\d+)/);
    if (!Number.isFinite(tps) || !Number.isFinite(processed)) {
      throw new Error(`pgbench ${code === null ? 'was stopped' : `exited with ${code}`} without results:\n${stderr.slice(-3000)}\n${stdout.slice(-2000)}`);
    }
    // Per-transaction log: client_id transaction_no time_us script_no time_epoch time_us (one file per thread).
    const latencies: number[] = [];
    let loggedFailures = 0;
    if (o.keepLog) {
      for (const f of readdirSync(dir).filter((n) => n.startsWith('tx.'))) {
        for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
          const field = line.split(' ')[2];
          if (field === undefined || field === '') continue;
          const us = Number(field);
          if (Number.isFinite(us)) latencies.push(us / 1000);
          else loggedFailures++;
        }
      }
    }
    const samples = Float64Array.from(latencies);
    const failed = Number.isFinite(failedMatch) ? failedMatch : 0;
    const aborted = code !== 0 || /aborted/i.test(stderr);
    const window = before && after ? (after.at - before.at) / 1000 : 0;
    return {
      measurement: {
        title: o.title,
        durationSeconds: o.seconds,
        responses: processed + failed,
        ok: processed,
        non2xx: Math.max(failed, loggedFailures),
        socketErrors: aborted ? 1 : 0,
        timeouts: 0,
        statusCodes: { committed: processed, ...(failed ? { failed } : {}) },
        requestsPerSecond: Math.round(tps),
        latencyMs: latencySummary(samples),
        samples,
      },
      tps: Number(tps.toFixed(2)),
      processed,
      failed,
      aborted,
      stderrTail: stderr.split('\n').filter(Boolean).slice(-5).join('\n'),
      cpu: before && after ? cpuReport(before, after, Math.round(tps * window)) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Free client connection slots of the Postgres server (all databases, everyone's). */
export async function freeConnections(db: pg.Client): Promise<{ free: number; ours: number; others: number; max: number }> {
  const { rows } = await db.query<{ max: number; reserved: number; ours: number; others: number }>(
    `SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved,
            count(*) FILTER (WHERE datname = current_database())::int AS ours, count(*) FILTER (WHERE datname IS DISTINCT FROM current_database())::int AS others
       FROM pg_stat_activity WHERE backend_type = 'client backend'`,
  );
  const r = rows[0]!;
  return { free: r.max - r.reserved - r.ours - r.others, ours: r.ours, others: r.others, max: r.max };
}

/**
 * pgbench needs `needed` connections on a server with max_connections 100 that the services (up to
 * ~80 pooled connections under load) and other people's runs share: wait (bounded) until the
 * services' idle pool connections have closed (node-postgres closes them after 30 s idle).
 */
export async function waitForConnections(db: pg.Client, needed: number, log: (m: string) => void, maxSeconds = 45): Promise<number> {
  const started = Date.now();
  for (;;) {
    const c = await freeConnections(db);
    if (c.free >= needed) return Math.round((Date.now() - started) / 1000);
    if (Date.now() - started > maxSeconds * 1000) {
      log(`only ${c.free} free Postgres connections (max ${c.max}; this run ${c.ours}, others ${c.others}), wanted ${needed}: measuring anyway`);
      return maxSeconds;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
