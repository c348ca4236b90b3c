#!/usr/bin/env node
// One command for a local stack: migrate, seed the demo tenant when the database is empty, start
// every service that exists (auth-service first, api-gateway last), wait until each is healthy and
// print the URLs and demo logins. Ctrl-C stops everything. `--dev` runs the sources in watch mode.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dev = process.argv.includes('--dev');
if (existsSync(path.join(root, '.env'))) process.loadEnvFile(path.join(root, '.env'));

const rank = (name) => (name === 'auth-service' ? 0 : name === 'api-gateway' ? 2 : 1);
const services = readdirSync(path.join(root, 'services'))
  .map((name) => ({ name, pkg: JSON.parse(readFileSync(path.join(root, 'services', name, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => pkg.pos?.port)
  .map(({ name, pkg }) => ({ name, port: Number(process.env[`${name.replace(/-/g, '_').toUpperCase()}_PORT`] ?? pkg.pos.port) }))
  .sort((a, b) => rank(a.name) - rank(b.name) || a.port - b.port);

// Service-to-service credentials (POS-DESIGN §11): the pairs configured in SERVICE_CLIENTS (.env),
// and a fresh random secret for every service that has none, for this run only.
const configured = Object.fromEntries(
  (process.env.SERVICE_CLIENTS ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)]),
);
const clientSecrets = Object.fromEntries(services.map((s) => [s.name, configured[s.name] ?? randomBytes(24).toString('base64url')]));
const serviceClients = Object.entries({ ...configured, ...clientSecrets }).map(([id, secret]) => `${id}:${secret}`).join(',');
const urlEnv = Object.fromEntries(services.map((s) => [`${s.name.replace(/-service$/, '').replace(/-/g, '_').toUpperCase()}_SERVICE_URL`, `http://127.0.0.1:${s.port}`]));

const children = [];
let stopping = false;

function run(cmd, args, env = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
}

async function waitHealthy(svc, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${svc.name} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${svc.port}/health`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${svc.name} did not become healthy within ${timeoutMs / 1000}s`);
}

function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping services...');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const force = setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), 15_000);
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => {
    clearTimeout(force);
    process.exit(code);
  });
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

async function main() {
  console.log('migrating...');
  run(process.execPath, ['scripts/migrate.mjs']);
  run(process.execPath, ['scripts/seed.mjs']);

  for (const svc of services) {
    const [cmd, args] = dev
      ? [process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'watch', '--clear-screen=false', '--tsconfig', 'tsconfig.dev.json', `services/${svc.name}/src/main.ts`]]
      : [process.execPath, [`services/${svc.name}/dist/main.js`]];
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        ...urlEnv,
        PORT: String(svc.port),
        SERVICE_CLIENTS: serviceClients,
        SERVICE_CLIENT_ID: svc.name,
        SERVICE_CLIENT_SECRET: clientSecrets[svc.name] ?? '',
      },
    });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`${svc.name} stopped unexpectedly (${signal ?? `code ${code}`}); stopping the stack`);
        stopAll(1);
      }
    });
    children.push(child);
    await waitHealthy(svc, child);
  }

  const gateway = services.find((s) => s.name === 'api-gateway');
  const base = gateway ? `http://localhost:${gateway.port}` : `http://localhost:${services[0]?.port}`;
  console.log(`
Cloud POS is running.
  API (gateway):  ${base}/api/v1
  API docs:       ${base}/api-docs
  Health:         ${base}/health
${services.map((s) => `  ${s.name.padEnd(22)} http://localhost:${s.port}`).join('\n')}

Demo logins (password demo-password-123):
  owner@demo.pos  manager@demo.pos  cashier@demo.pos (PIN 1234 at Downtown)
Press Ctrl-C to stop.`);
}

main().catch((err) => {
  console.error(err.message);
  stopAll(1);
});
