export * from './app';
export * from './auth';
export * from './errors';
export * from './request-id';
export * from './routes';
export * from './server';
export * from './openapi';
export * from './idempotency';
