// docker-compose.yml as `docker compose config` would see it: YAML with merge keys (<<), and
// ${VAR} interpolation from .env, which here is simulated with stand-ins for secrets.
import { parse } from 'yaml';
import { type Json, readText, sampleSecret } from './repo';

export const COMPOSE_FILE = 'docker-compose.yml';

export function loadCompose(): Json {
  return parse(readText(COMPOSE_FILE), { merge: true, prettyErrors: true });
}

export interface Reference {
  name: string;
  /** `${VAR:?msg}` / `${VAR?msg}`: compose stops when it is missing. */
  required: boolean;
  /** `${VAR:-default}` / `${VAR-default}`. */
  fallback?: string;
}

const INTERPOLATION = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The variables a compose value interpolates. */
export function references(value: unknown): Reference[] {
  if (typeof value !== 'string') return [];
  const refs: Reference[] = [];
  for (const m of value.matchAll(INTERPOLATION)) {
    if (m[0] === '$$') continue;
    const name = m[1] ?? m[4]!;
    const op = m[2];
    refs.push({ name, required: op === ':?' || op === '?', fallback: op === ':-' || op === '-' ? m[3] : undefined });
  }
  return refs;
}

/**
 * Interpolates like compose with an .env that sets exactly the required (`:?`) variables: those get
 * a stand-in value, `:-` ones their default, bare ones empty.
 */
export function interpolate(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(INTERPOLATION, (whole: string, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    if (op === ':?' || op === '?') return sampleSecret(name);
    if (op === ':-' || op === '-') return arg ?? '';
    return '';
  });
}

/** A compose `environment` (map or list form) as a map of raw (uninterpolated) values. */
export function rawEnvironment(service: Json): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => {
        const idx = entry.indexOf('=');
        return idx < 0 ? [entry, ''] : [entry.slice(0, idx), entry.slice(idx + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export function resolvedEnvironment(service: Json): Record<string, string> {
  return Object.fromEntries(Object.entries(rawEnvironment(service)).map(([k, v]) => [k, interpolate(v)]));
}

/** `depends_on` in list or map form, as name -> condition. */
export function dependsOn(service: Json): Record<string, string> {
  const deps = service?.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d: string) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, (v as Json)?.condition ?? 'service_started']));
}

/** Every string anywhere in a compose service definition. */
export function allStrings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) node.forEach((n) => allStrings(n, out));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => allStrings(n, out));
  return out;
}
