import { createLogger, type Logger } from '@pos/utils';

export function defaultLogger(service: string): Logger {
  return createLogger({ service, level: process.env.LOG_LEVEL ?? 'info' });
}

export function errorInfo(err: unknown): { error: string; code?: string } {
  if (!(err instanceof Error)) return { error: String(err) };
  const code = (err as { code?: unknown }).code;
  return { error: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
