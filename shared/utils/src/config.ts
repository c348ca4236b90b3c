import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses process.env (or the given env) with a zod schema and throws one readable error naming
 * every bad or missing variable, so a service fails at start-up instead of at the first request.
 */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // `VAR=` in an env file means "not set", so the default applies.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(issues);
}

const DEV_SECRET_MARKER = 'dev-only';

/**
 * A secret variable: required in production; outside production a clearly marked development value
 * is used when it is missing, and that value is refused when NODE_ENV=production.
 */
export function secret(devValue: string, minLength = 16) {
  return z
    .string()
    .min(minLength, `must be at least ${minLength} characters`)
    .optional()
    .transform((value, ctx) => {
      const production = process.env.NODE_ENV === 'production';
      if (value === undefined || value === '') {
        if (production) {
          ctx.addIssue({ code: 'custom', message: 'is required in production' });
          return z.NEVER;
        }
        return `${DEV_SECRET_MARKER}-${devValue}`;
      }
      if (production && value.startsWith(DEV_SECRET_MARKER)) {
        ctx.addIssue({ code: 'custom', message: 'is a development value and cannot be used in production' });
        return z.NEVER;
      }
      return value;
    });
}

/**
 * A non-secret setting (a URL, usually) that has a local default for development and tests but
 * must be given explicitly in production.
 */
export function requiredInProduction(devValue: string) {
  return z
    .string()
    .min(1)
    .optional()
    .transform((value, ctx) => {
      if (value) return value;
      if (process.env.NODE_ENV === 'production') {
        ctx.addIssue({ code: 'custom', message: 'is required in production' });
        return z.NEVER;
      }
      return devValue;
    });
}

/** A boolean env var: "true"/"1"/"yes" and "false"/"0"/"no". */
export function envBool(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? defaultValue : ['true', '1', 'yes'].includes(v)));
}

export const commaList = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []));

export const nodeEnv = z.enum(['development', 'test', 'production']).default('development');
export const logLevel = z.enum(['error', 'warn', 'info', 'http', 'debug']).default('info');
