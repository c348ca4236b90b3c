// Option and environment checks shared by the benchmark scripts: every number is bounded (so a run
// always ends by itself), and the database and Redis db are the benchmark's own, on this machine.

export function bounded(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const LOCAL = ['127.0.0.1', 'localhost', '[::1]'];

/** The Postgres server and owner role (BENCH_PG, BENCH_DATABASE_USER). */
export function localPg(): { host: string; admin: string; adminBase: string } {
  const host = process.env.BENCH_PG ?? '127.0.0.1:5432';
  const admin = process.env.BENCH_DATABASE_USER ?? 'postgres';
  if (!LOCAL.includes(new URL(`postgres://${host}`).hostname)) fail('The benchmark only talks to this machine: BENCH_PG must be local');
  if (!/^[a-z_][a-z0-9_]*$/.test(admin)) fail('BENCH_DATABASE_USER must be a plain role name');
  return { host, admin, adminBase: `postgres://${admin}@${host}` };
}

/** The benchmark's database: dropped and recreated by every run, hence the required prefix. */
export function benchDatabase(fallback = 'pos_bench_run'): string {
  const name = process.env.BENCH_DATABASE ?? fallback;
  if (!/^pos_bench[a-z0-9_]*$/.test(name)) fail('BENCH_DATABASE must start with pos_bench (the benchmark drops and recreates it)');
  return name;
}

/** The benchmark's Redis db: flushed by every run, so never 0 (`npm start`) or 1 (`npm test`). */
export function benchRedis(fallback = 'redis://127.0.0.1:6379/3'): string {
  const url = process.env.BENCH_REDIS_URL ?? fallback;
  if (!LOCAL.includes(new URL(url).hostname)) fail('The benchmark only talks to this machine: BENCH_REDIS_URL must be local');
  if (Number(new URL(url).pathname.slice(1) || 0) < 2) fail('BENCH_REDIS_URL must name a Redis db of its own (2 or higher): the benchmark flushes it; 0 is `npm start`, 1 is `npm test`');
  return url;
}

/** A local MongoDB for audit and API usage (BENCH_MONGODB_URI), or undefined for the in-process stand-in. */
export function benchMongo(): string | undefined {
  const uri = process.env.BENCH_MONGODB_URI;
  if (uri && !/^mongodb:\/\/(?:[^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(uri)) fail('The benchmark only talks to this machine: BENCH_MONGODB_URI must be local');
  return uri;
}
