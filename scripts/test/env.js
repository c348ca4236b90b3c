// Test environment: a database and a Redis db of their own, so tests never touch `npm start` data.
process.env.NODE_ENV ??= 'test';
process.env.TEST_DATABASE_NAME ??= 'pos_test';
const pgHost = process.env.PGHOST_ADDR ?? '127.0.0.1:5432';
process.env.DATABASE_URL = process.env.TEST_DATABASE_URL ?? `postgres://pos_app@${pgHost}/${process.env.TEST_DATABASE_NAME}`;
process.env.WORKER_DATABASE_URL = process.env.TEST_WORKER_DATABASE_URL ?? `postgres://pos_worker@${pgHost}/${process.env.TEST_DATABASE_NAME}`;
process.env.DATABASE_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? `postgres://postgres@${pgHost}/${process.env.TEST_DATABASE_NAME}`;
process.env.REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';
process.env.LOG_LEVEL ??= 'error';
// Each test file runs several services in one process, and Jest runs files in parallel: keep every
// pool small so the suite stays far below Postgres' max_connections (100 by default).
process.env.DB_POOL_MAX ??= '4';
