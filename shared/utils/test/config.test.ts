import { z } from 'zod';
import { ConfigError, commaList, envBool, loadConfig, secret } from '../src';

describe('loadConfig', () => {
  const schema = z.object({
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    DATABASE_URL: z.string().url(),
    FEATURE: envBool(false),
    ORIGINS: commaList,
  });

  it('when the environment is valid, then typed values and defaults come back', () => {
    const config = loadConfig(schema, { DATABASE_URL: 'postgres://x@h/db', FEATURE: 'yes', ORIGINS: 'http://a, http://b' });
    expect(config).toEqual({ PORT: 3000, DATABASE_URL: 'postgres://x@h/db', FEATURE: true, ORIGINS: ['http://a', 'http://b'] });
  });

  it('when variables are missing or bad, then one error names every one of them', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'eighty', FEATURE: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid configuration:/);
    for (const name of ['PORT', 'DATABASE_URL', 'FEATURE']) expect(message).toContain(`${name}:`);
  });
});

describe('secret()', () => {
  const schema = z.object({ SIGNING_SECRET: secret('local-signing', 16) });
  const withNodeEnv = <T>(value: string, fn: () => T): T => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = value;
    try {
      return fn();
    } finally {
      process.env.NODE_ENV = before;
    }
  };

  it('when a secret is missing outside production, then a marked development value is used', () => {
    expect(withNodeEnv('development', () => loadConfig(schema, {})).SIGNING_SECRET).toBe('dev-only-local-signing');
  });

  it('when a secret is missing in production, then start-up fails', () => {
    expect(() => withNodeEnv('production', () => loadConfig(schema, {}))).toThrow(/SIGNING_SECRET: is required in production/);
  });

  it('when production is given a development value, then start-up fails', () => {
    expect(() => withNodeEnv('production', () => loadConfig(schema, { SIGNING_SECRET: 'dev-only-local-signing' }))).toThrow(/development value/);
  });

  it('when a secret is too short, then it is refused', () => {
    expect(() => loadConfig(schema, { SIGNING_SECRET: 'short' })).toThrow(/at least 16/);
  });
});

describe('empty variables', () => {
  it('when a variable is set but empty (VAR= in an env file), then it counts as unset and the default applies', () => {
    const schema = z.object({ URL: z.string().url().optional(), PORT: z.coerce.number().default(3000) });
    expect(loadConfig(schema, { URL: '', PORT: '' })).toEqual({ PORT: 3000 });
  });
});
