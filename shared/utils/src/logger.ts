import winston from 'winston';
import { currentContext } from './context';
import { isSecretKey, maskCardNumbers, redact } from './redact';

const contextFormat = winston.format((info) => {
  const ctx = currentContext();
  if (ctx) {
    info.requestId ??= ctx.requestId;
    if (ctx.tenantId) info.tenantId ??= ctx.tenantId;
    if (ctx.userId) info.userId ??= ctx.userId;
  }
  return info;
});

// Runs last so that nothing added by other formats escapes redaction.
const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    const value = info[key];
    info[key] = isSecretKey(key) ? '[REDACTED]' : redact(value);
  }
  if (typeof info.message === 'string') info.message = maskCardNumbers(info.message);
  return info;
});

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Extra transports, e.g. the optional MongoDB transport; tests pass a stream to read lines. */
  transports?: winston.transport[];
}

export function createLogger({ service, level = 'info', transports }: LoggerOptions): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(winston.format.timestamp(), contextFormat(), redactFormat(), winston.format.json()),
    transports: transports ?? [new winston.transports.Console()],
  });
}
