// Static checks of infrastructure/docker/Dockerfile and .dockerignore (no Docker engine here), the
// npm docker:* scripts, and the container health check script run for real against a local server.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { loadCompose } from './support/compose';
import { discoverServices, readText, rel, rootPackage } from './support/repo';
import { refusedPort } from '../../scripts/test/ports';

const run = promisify(execFile);
const DOCKERFILE = 'infrastructure/docker/Dockerfile';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped, global ARGs applied to FROM). */
function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) lines.push(current.trim());
    current = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_w, a?: string, b?: string) => globalArgs[(a ?? b)!] ?? '');
      stages.push({ base, name: m[2], instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [k, v = ''] = args.split('=');
      globalArgs[k!] = v;
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ op: upper, args });
    }
  }
  return { stages, globalArgs };
}

const { stages } = parseDockerfile(readText(DOCKERFILE));
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage "${name}" in ${DOCKERFILE}`);
  return s;
};
const runs = (s: Stage) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
/** The stage and every stage it is built FROM. */
const ancestry = (s: Stage): Stage[] => {
  const parent = stages.find((x) => x.name === s.base);
  return parent ? [s, ...ancestry(parent)] : [s];
};
const last = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).at(-1)?.args;
const jsonArgs = (args: string | undefined): string[] => {
  try {
    return JSON.parse(args ?? '');
  } catch {
    return (args ?? '').split(/\s+/);
  }
};
const nodeMajor = () => /(\d+)/.exec(rootPackage().engines.node)![1];

/** .dockerignore semantics: patterns in order, `!` re-includes, a match on a parent excludes the children. */
function dockerIgnored(file: string, patterns: string[]): boolean {
  const toRegex = (p: string) => {
    let re = '';
    const glob = p.replace(/^\/+/, '');
    for (let i = 0; i < glob.length; i += 1) {
      const ch = glob[i]!;
      if (glob.startsWith('**/', i)) {
        re += '(?:.*/)?';
        i += 2;
      } else if (glob.startsWith('**', i)) {
        re += '.*';
        i += 1;
      } else if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parts = file.replace(/\/$/, '').split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex(negate ? raw.slice(1) : raw);
    if (candidates.some((c) => re.test(c))) ignored = !negate;
  }
  return ignored;
}
const ignorePatterns = () =>
  readText('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('when it is parsed, then it is multi-stage with dependency, build, service and migrate stages, the service image last', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const name of ['deps', 'build', 'service', 'migrate']) expect(() => stage(name)).not.toThrow();
    expect(stages.at(-1)!.name).toBe('service');
  });

  it('when dependencies are installed, then it is `npm ci` from the lock file, never `npm install`', () => {
    const all = stages.flatMap(runs);
    expect(all.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(all.filter((r) => /\bnpm (install|i)\b/.test(r))).toEqual([]);
    expect(readText(DOCKERFILE)).toMatch(/package-lock\.json/);
    expect(ancestry(stage('build')).flatMap(runs).some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r))).toBe(true);
    expect(runs(stage('build')).some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  it('when the service image is assembled, then its files come from a stage without dev dependencies', () => {
    const service = stage('service');
    const froms = service.instructions.filter((i) => i.op === 'COPY' && /--from=/.test(i.args)).map((i) => /--from=(\S+)/.exec(i.args)![1]!);
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) {
      const chain = ancestry(stage(from)).flatMap(runs);
      expect({ from, pruned: chain.some((r) => /npm prune --omit=dev|npm ci [^&]*--omit=dev/.test(r)) }).toEqual({ from, pruned: true });
    }
    // Only the build output: the service's and shared packages' dist, package.json files, node_modules.
    const assemble = runs(stage(froms[0]!)).join(' ');
    expect(assemble).toMatch(/services\/\$SERVICE\/dist/);
    expect(assemble).toMatch(/\$dir\/dist/);
    expect(assemble).not.toMatch(/\/src\b/);
  });

  it.each(['service', 'migrate'])('when the %s image is read, then it is node slim of the supported major, runs as a non-root user and in production mode', (name) => {
    const s = stage(name);
    expect(s.base).toBe(`node:${nodeMajor()}-slim`);
    const user = last(s, 'USER');
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(s.instructions.some((i) => i.op === 'ENV' && /NODE_ENV=production/.test(i.args))).toBe(true);
  });

  it('when the service image is read, then it has a HEALTHCHECK on /health with node, and starts dist/main.js', () => {
    const s = stage('service');
    const hc = last(s, 'HEALTHCHECK');
    expect(hc).toMatch(/CMD \["node", "\/app\/healthcheck\.js"\]/);
    expect(s.instructions.some((i) => i.op === 'COPY' && i.args.includes('infrastructure/docker/healthcheck.js'))).toBe(true);
    expect(readText('infrastructure/docker/healthcheck.js')).toMatch(/\/health/);
    expect(jsonArgs(last(s, 'CMD'))).toEqual(['node', 'dist/main.js']);
    expect(s.instructions.some((i) => i.op === 'ARG' && i.args === 'SERVICE')).toBe(true);
  });

  it('when the migrate image is read, then it runs node scripts/migrate.mjs', () => {
    expect(jsonArgs(last(stage('migrate'), 'CMD'))).toEqual(['node', 'scripts/migrate.mjs']);
  });

  it('when every COPY from the build context is checked, then its source exists and .dockerignore does not exclude it', () => {
    const patterns = ignorePatterns();
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))
      .flatMap((i) => i.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources.filter((s) => s !== '.')) {
      expect({ src, exists: existsSync(rel(src)), ignored: dockerIgnored(src, patterns) }).toEqual({ src, exists: true, ignored: false });
    }
  });

  it('when .dockerignore is read, then host node_modules, build output, .env files and .git stay out of the build context', () => {
    const patterns = ignorePatterns();
    for (const path of ['node_modules', 'services/auth-service/node_modules', 'shared/http/dist', '.env', '.env.production', '.git', 'services/auth-service/test/x.test.ts']) {
      expect({ path, ignored: dockerIgnored(path, patterns) }).toEqual({ path, ignored: true });
    }
    for (const path of ['package-lock.json', 'scripts/migrate.mjs', 'services/auth-service/src/main.ts', 'services/auth-service/migrations/1_x.sql', '.env.example']) {
      expect({ path, ignored: dockerIgnored(path, patterns) }).toEqual({ path, ignored: false });
    }
  });
});

describe('npm docker scripts', () => {
  it('when package.json is read, then docker:build, docker:up, docker:down and docker:logs drive docker compose', () => {
    const scripts = rootPackage().scripts;
    for (const name of ['docker:build', 'docker:up', 'docker:down', 'docker:logs']) expect({ name, script: scripts[name] }).toEqual({ name, script: expect.stringMatching(/^docker compose /) });
    expect(scripts['docker:up']).toMatch(/up -d/);
  });

  it('when docker:build runs `docker compose build`, then every service folder and the migration have an image to build', () => {
    const compose = loadCompose();
    const built = Object.values(compose.services as Record<string, { build?: { args?: { SERVICE?: string }; target?: string } }>)
      .filter((s) => s.build)
      .map((s) => s.build!.args?.SERVICE ?? s.build!.target);
    expect(built.sort()).toEqual([...discoverServices().map((s) => s.name), 'migrate'].sort());
  });
});

describe('container health check (infrastructure/docker/healthcheck.js)', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  beforeAll(async () => {
    server = http.createServer((req, res) => res.writeHead(req.url === '/health' ? status : 404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const check = async (args: string[], env: Record<string, string> = {}) => {
    try {
      await run(process.execPath, [rel('infrastructure/docker/healthcheck.js'), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 10_000 });
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  };

  it('when /health answers 200 on $PORT, then it exits 0', async () => {
    status = 200;
    expect(await check([], { PORT: String(port) })).toBe(0);
    expect(await check([`http://127.0.0.1:${port}/health`])).toBe(0);
  });

  it('when /health answers 503, then it exits 1', async () => {
    status = 503;
    expect(await check([], { PORT: String(port) })).toBe(1);
  });

  it('when nothing listens, then it exits 1', async () => {
    expect(await check([`http://127.0.0.1:${await refusedPort()}/health`])).toBe(1);
  });
});
