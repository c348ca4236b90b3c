// The repository as the deployment tests see it: the services (discovered from services/*, never
// listed by hand), their package.json "pos" settings and their real config schemas.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '@pos/utils';

export const ROOT = path.resolve(__dirname, '../../..');
export const rel = (...parts: string[]) => path.join(ROOT, ...parts);
export const readText = (file: string) => readFileSync(rel(file), 'utf8');

/** Parsed YAML/JSON is untyped by nature; the tests check its shape themselves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Service {
  /** Folder under services/, also the compose service, Deployment, Service and image name. */
  name: string;
  port: number;
  /** Postgres schema the service owns, if any. */
  schema?: string;
  pkg: Json;
}

/** Every folder under services/ with a package.json that declares "pos.port" (as scripts/start.mjs does). */
export function discoverServices(): Service[] {
  const dir = rel('services');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'package.json')))
    .map((d) => ({ name: d.name, pkg: JSON.parse(readFileSync(path.join(dir, d.name, 'package.json'), 'utf8')) as Json }))
    .filter(({ pkg }) => pkg.pos?.port !== undefined)
    .map(({ name, pkg }) => ({ name, pkg, port: Number(pkg.pos.port), schema: pkg.pos.schema as string | undefined }))
    .sort((a, b) => a.port - b.port);
}

export const rootPackage = (): Json => JSON.parse(readText('package.json'));
/** Images are tagged with the monorepo's version (root package.json). */
export const imageTag = (): string => rootPackage().version;
export const imageName = (service: string) => `cloud-pos/${service}`;

/** Name of the env var holding a service's URL, as the gateway's config names them: auth-service -> AUTH_SERVICE_URL. */
export const serviceUrlVar = (service: string) => `${service.replace(/-service$/, '').replace(/-/g, '_').toUpperCase()}_SERVICE_URL`;

// ---- config schemas -----------------------------------------------------------------------------

interface ZodLike {
  safeParse(input: unknown): { success: true; data: unknown } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** The `configSchema` export of services/<name>/src/config.ts (the uniform name every service exports). */
export function configSchemaOf(service: string): ZodLike {
  const file = rel('services', service, 'src', 'config');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- one module per discovered service
  const mod = require(file) as { configSchema?: ZodLike };
  if (!mod.configSchema) throw new Error(`services/${service}/src/config.ts must export its zod schema as \`configSchema\``);
  return mod.configSchema;
}

/** The variable names a config schema reads (the keys of its object shape, through pipes and wrappers). */
export function schemaKeys(schema: unknown): string[] {
  let node = schema as Json;
  for (let depth = 0; node && depth < 10; depth += 1) {
    if (node.shape && typeof node.shape === 'object') return Object.keys(node.shape);
    const def = node._zod?.def ?? node._def;
    node = def?.in ?? def?.innerType ?? def?.schema;
  }
  throw new Error('the config schema does not expose an object shape');
}

/** Config helpers decide "production" from process.env at parse time, so parse with it set. */
function inProduction<T>(fn: () => T): T {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    return fn();
  } finally {
    process.env.NODE_ENV = saved;
  }
}

/** Variables that have no default in production: the issues of parsing `{NODE_ENV: 'production'}`. */
export function requiredInProduction(schema: ZodLike): string[] {
  const result = inProduction(() => schema.safeParse({ NODE_ENV: 'production' }));
  if (result.success) return [];
  return [...new Set(result.error.issues.map((issue) => String(issue.path[0] ?? '(environment)')))].sort();
}

/** What the service would say at start-up with this environment in production: [] when it starts. */
export function productionConfigIssues(schema: ZodLike, env: Record<string, string>): string[] {
  return inProduction(() => {
    try {
      loadConfig(schema as never, { ...env, NODE_ENV: 'production' });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
  });
}

/** Deterministic stand-in for a secret that an operator provides (.env or the real Secret). */
export function sampleSecret(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const body = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${h.toString(16)}`.padEnd(48, '0');
  // Client lists are id:secret pairs; everything else is a URL-safe token.
  return name.endsWith('_CLIENTS') ? `sample-client:${body}` : body;
}
