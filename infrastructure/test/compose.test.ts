// Static checks of docker-compose.yml with the semantics `docker compose config` / `up` apply (no
// Docker engine here): dependencies, health checks, the migration step, volumes, and secrets that
// only ever come from .env. Services are discovered from services/*.
import { allStrings, dependsOn, interpolate, loadCompose, rawEnvironment, references } from './support/compose';
import { discoverServices, imageName, imageTag, readText, type Json } from './support/repo';

const compose = loadCompose();
const services = discoverServices();
const entries = Object.entries(compose.services ?? {}) as [string, Json][];
const DATASTORES = { postgres: 'postgres:16', redis: 'redis:7', mongo: 'mongo:7' } as const;
const MIGRATE = 'migrate';
/** Env names that hold secrets: their values must come from .env, never from this file. */
const SECRET_NAME = /PASSWORD|SECRET|_CLIENTS$|_TOKEN$|PRIVATE_KEY|API_KEY|_AUTH$/;
const appService = (name: string): Json => {
  const s = compose.services?.[name];
  if (!s) throw new Error(`no compose service ${name} in docker-compose.yml: every folder under services/ needs one (docs/deployment.md, "Adding a service")`);
  return s;
};
/** Host and container side of a `ports` entry ("127.0.0.1:${X:-3001}:3001"). */
function portMapping(entry: string | Json): { hostIp?: string; host: string; container: number } {
  if (typeof entry !== 'string') return { hostIp: entry.host_ip, host: String(entry.published), container: Number(entry.target) };
  // Split on the colons that are not inside ${...}.
  const parts = entry.match(/(?:\$\{[^}]*\}|[^:])+/g) ?? [];
  const container = Number(parts.pop()!.split('/')[0]);
  const host = parts.pop() ?? '';
  return { hostIp: parts.pop(), host, container };
}

describe('docker compose: structure', () => {
  it('when docker-compose.yml is parsed (with merge keys), then it defines services and named volumes', () => {
    expect(entries.length).toBeGreaterThan(0);
    expect(Object.keys(compose.volumes ?? {}).length).toBeGreaterThan(0);
  });

  it('when every depends_on is followed, then each target exists and each condition is one compose knows and can reach', () => {
    for (const [name, svc] of entries) {
      for (const [target, condition] of Object.entries(dependsOn(svc))) {
        expect({ name, target, exists: target in compose.services }).toEqual({ name, target, exists: true });
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        const dep = compose.services[target];
        if (condition === 'service_healthy') expect({ name, target, healthcheck: Boolean(dep.healthcheck?.test) }).toEqual({ name, target, healthcheck: true });
        // A one-shot step must not be restarted, or "completed successfully" never happens.
        if (condition === 'service_completed_successfully') expect({ name, target, restart: String(dep.restart ?? 'no') }).toEqual({ name, target, restart: 'no' });
      }
    }
  });

  it('when the dependency graph is walked, then it has no cycle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (n: string, trail: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'visiting') throw new Error(`depends_on cycle: ${[...trail, n].join(' -> ')}`);
      state.set(n, 'visiting');
      Object.keys(dependsOn(compose.services[n])).forEach((d) => visit(d, [...trail, n]));
      state.set(n, 'done');
    };
    expect(() => entries.forEach(([n]) => visit(n, []))).not.toThrow();
  });

  it('when volumes are read, then every named volume used is declared and every declared one is used', () => {
    const used = new Set<string>();
    for (const [name, svc] of entries) {
      for (const v of svc.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : v.source;
        if (!/^[./~]/.test(source)) {
          used.add(source);
          expect({ name, volume: source, declared: source in (compose.volumes ?? {}) }).toEqual({ name, volume: source, declared: true });
        }
      }
    }
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual([...used].sort());
  });

  it.each(Object.entries(DATASTORES))('when %s is read, then it runs %s with a healthcheck and its data on a named volume', (name, image) => {
    const svc = compose.services[name];
    expect(svc?.image).toBe(image);
    expect(svc.healthcheck?.test).toBeDefined();
    const dataVolume = (svc.volumes ?? []).map((v: Json) => (typeof v === 'string' ? v.split(':')[0] : v.source)).find((s: string) => s in (compose.volumes ?? {}));
    expect(dataVolume).toBeDefined();
    // Published for local tools only, never on every interface.
    for (const p of svc.ports ?? []) expect(portMapping(p).hostIp).toBe('127.0.0.1');
  });

  it('when Redis is read, then AOF persistence is on and eviction is off (it carries the event streams)', () => {
    const command = allStrings(compose.services.redis.command).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    // The password is required and comes from .env.
    const args: string[] = compose.services.redis.command;
    const password = args[args.indexOf('--requirepass') + 1];
    expect(references(password)).toEqual([expect.objectContaining({ name: 'REDIS_PASSWORD', required: true })]);
  });

  it('when the migration step is read, then it is a one-shot of the migrate image that runs after Postgres is healthy, as the schema owner', () => {
    const m = compose.services[MIGRATE];
    expect(m).toBeDefined();
    expect(m.image).toBe(`${imageName('migrate')}:\${POS_IMAGE_TAG:-${imageTag()}}`);
    expect(m.build).toMatchObject({ context: '.', dockerfile: 'infrastructure/docker/Dockerfile', target: 'migrate' });
    expect(String(m.restart)).toBe('no');
    expect(dependsOn(m)).toEqual({ postgres: 'service_healthy' });
    const env = rawEnvironment(m);
    expect(env.NODE_ENV).toBe('production');
    for (const key of ['DATABASE_ADMIN_URL', 'DB_APP_PASSWORD', 'DB_WORKER_PASSWORD']) expect({ key, set: Boolean(interpolate(env[key])) }).toEqual({ key, set: true });
  });

  it('when every compose service is listed, then it is a datastore, the migration step or a service folder (no stale entries)', () => {
    const known = new Set([...Object.keys(DATASTORES), MIGRATE, ...services.map((s) => s.name)]);
    expect(entries.map(([n]) => n).filter((n) => !known.has(n))).toEqual([]);
  });
});

describe.each(services.map((s) => [s.name, s] as const))('docker compose: service %s', (name, svc) => {
  it('when its entry is read, then it builds the service target of the shared Dockerfile into the release-tagged image', () => {
    const s = appService(name);
    expect(s.image).toBe(`${imageName(name)}:\${POS_IMAGE_TAG:-${imageTag()}}`);
    expect(s.build).toEqual({ context: '.', dockerfile: 'infrastructure/docker/Dockerfile', target: 'service', args: { SERVICE: name } });
  });

  it(`when its ports are read, then container port ${svc.port} is published, on loopback unless it is the gateway`, () => {
    const ports = (appService(name).ports ?? []).map(portMapping);
    expect(ports.map((p: { container: number }) => p.container)).toEqual([svc.port]);
    const envPort = `${name.replace(/-/g, '_').toUpperCase()}_PORT`;
    expect(ports[0].host).toBe(`\${${envPort}:-${svc.port}}`);
    if (name !== 'api-gateway') expect(ports[0].hostIp).toBe('127.0.0.1');
    expect(interpolate(rawEnvironment(appService(name)).PORT)).toBe(String(svc.port));
  });

  it('when its healthcheck is read, then it GETs /health on its own port with node (the image has no curl)', () => {
    const test = appService(name).healthcheck?.test;
    expect(test?.[0]).toBe('CMD');
    expect(test.slice(1, 3)).toEqual(['node', '/app/healthcheck.js']);
    expect(test.join(' ')).toContain(`http://127.0.0.1:${svc.port}/health`);
  });

  it('when its dependencies are read, then it waits for the migration to complete and for healthy datastores and services', () => {
    const deps = dependsOn(appService(name));
    expect(deps[MIGRATE]).toBe('service_completed_successfully');
    for (const [target, condition] of Object.entries(deps)) if (target !== MIGRATE) expect({ target, condition }).toEqual({ target, condition: 'service_healthy' });
  });

  it('when its container settings are read, then it is hardened: read-only root, tmpfs /tmp, no capabilities, no privilege escalation', () => {
    const s = appService(name);
    expect(s.read_only).toBe(true);
    expect(s.tmpfs).toContain('/tmp');
    expect(s.cap_drop).toEqual(['ALL']);
    expect(s.security_opt).toContain('no-new-privileges:true');
    expect(s.restart).toBe('unless-stopped');
  });
});

describe('docker compose: secrets', () => {
  const example = readText('.env.example');
  const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

  it('when every environment value is read, then secrets come from .env as required ${VAR:?} references, never literals or defaults', () => {
    const leaks: string[] = [];
    for (const [name, svc] of entries) {
      for (const [key, raw] of Object.entries(rawEnvironment(svc))) {
        const refs = references(raw);
        if (SECRET_NAME.test(key) && !(refs.length === 1 && refs[0]!.required && raw === raw.match(/\$\{[^}]*\}/)?.[0])) leaks.push(`${name}.${key}`);
        // A password inside a URL must be a reference too.
        const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(raw);
        if (m && !(references(m[1]).length === 1 && references(m[1])[0]!.required && m[1] === m[1]!.match(/\$\{[^}]*\}/)?.[0])) leaks.push(`${name}.${key} (password in URL)`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('when every string of the file is scanned, then no secret-looking literal appears (keys, tokens, passwords in URLs)', () => {
    const suspicious = allStrings(compose.services).filter(
      (s) =>
        /-----BEGIN|dev-only|sk_live|ghp_[A-Za-z0-9]/.test(s) ||
        /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:[^@$]+@/i.test(s),
    );
    expect(suspicious).toEqual([]);
  });

  it('when every ${VAR} the file uses is listed, then each is documented in .env.example', () => {
    const used = new Set(allStrings(compose).flatMap((s) => references(s).map((r) => r.name)));
    expect([...used].filter((v) => !documented.has(v)).sort()).toEqual([]);
  });

  it('when .env is not filled in, then compose refuses to start (every required secret uses :? and has no default)', () => {
    const required = allStrings(compose).flatMap((s) => references(s)).filter((r) => SECRET_NAME.test(r.name));
    expect(required.length).toBeGreaterThan(0);
    for (const r of required) expect({ name: r.name, required: r.required, fallback: r.fallback }).toEqual({ name: r.name, required: true, fallback: undefined });
  });
});
