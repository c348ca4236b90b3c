#!/usr/bin/env node
// One command for a local stack: migrate, seed the demo tenant when the database is empty, start
// every service that exists (auth-service first, api-gateway last), wait until each is healthy and
// print the URLs and demo logins. Ctrl-C stops everything. `--dev` runs the sources in watch mode.
// Without MONGODB_URI it also starts the in-process MongoDB stand-in (scripts/mongo-memory-server.mjs,
// data not persisted) and hands its URI to the services; with MONGODB_URI they use that MongoDB.
import { spawn, execFileSync } from 'node:child_process';
import readline from 'node:readline';
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
let mongoStandIn;

/** Starts scripts/mongo-memory-server.mjs and resolves with its URI (the first JSON line it prints). */
function startMongoStandIn() {
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'mongo-memory-server.mjs')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const lines = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`the MongoDB stand-in ${why}${stderr ? `:\n${stderr}` : ''}`));
    };
    const timer = setTimeout(() => fail('did not start within 20 s'), 20_000);
    child.once('error', (err) => fail(`could not start (${err.message})`));
    child.once('exit', (code) => fail(`exited with code ${code}`));
    lines.on('line', (line) => {
      let info;
      try {
        info = line.startsWith('{') ? JSON.parse(line) : undefined;
      } catch {
        info = undefined;
      }
      if (!info?.uri) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.close();
      child.stdout.resume();
      child.on('exit', (code, signal) => {
        if (!stopping) console.error(`MongoDB stand-in stopped unexpectedly (${signal ?? `code ${code}`}); audit and analytics wait until MongoDB is back`);
      });
      resolve({ child, uri: info.uri });
    });
  });
}

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
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(async () => {
    clearTimeout(force);
    // The services flush to MongoDB on shutdown, so the stand-in goes last.
    const mongo = mongoStandIn?.child;
    if (mongo && mongo.exitCode === null && mongo.signalCode === null) {
      const exited = new Promise((r) => mongo.once('exit', r));
      mongo.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    process.exit(code);
  });
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

async function main() {
  console.log('migrating...');
  run(process.execPath, ['scripts/migrate.mjs']);
  run(process.execPath, ['scripts/seed.mjs']);

  if (process.env.MONGODB_URI) {
    console.log(`MongoDB: ${process.env.MONGODB_URI.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1***@')} (MONGODB_URI)`);
  } else {
    mongoStandIn = await startMongoStandIn();
    process.env.MONGODB_URI = mongoStandIn.uri;
    console.log(`MongoDB: using the in-process stand-in (data is not persisted) at ${mongoStandIn.uri}; set MONGODB_URI to use a real MongoDB`);
  }

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
