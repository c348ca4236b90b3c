// Child processes of a benchmark run: start on a free local port, wait until ready, keep the last
// lines of output for error reports, and always stop them (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

export interface Proc {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** The last lines the process printed (stdout and stderr), for error reports. */
  tail(): string;
  stopLast: boolean;
}

const running = new Set<Proc>();
let stopping = false;

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  name: string;
  port: number;
  /** Arguments to `node` (script path and its arguments, plus node flags before it). */
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Also append everything the process prints to this file. */
  logFile?: string;
  /** A piped stdin (a child that stops when its parent goes away, like the MongoDB stand-in). */
  pipeStdin?: boolean;
  /** Stopped only after every other child has exited (a dependency the others flush to). */
  stopLast?: boolean;
}

/** Called when a process stops while the run still needs it. */
let onUnexpectedExit: (proc: Proc, code: number | null, signal: NodeJS.Signals | null) => void = () => undefined;
export function whenAnyExitsUnexpectedly(handler: typeof onUnexpectedExit): void {
  onUnexpectedExit = handler;
}

export function startNode(options: StartOptions): Proc {
  const child = spawn(process.execPath, options.nodeArgs, { cwd: options.cwd, env: options.env, stdio: [options.pipeStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const file = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const keep = (chunk: Buffer) => {
    file?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const proc: Proc = { name: options.name, port: options.port, url: `http://127.0.0.1:${options.port}`, child, tail: () => lines.join('\n'), stopLast: options.stopLast ?? false };
  running.add(proc);
  child.once('exit', (code, signal) => {
    running.delete(proc);
    if (!stopping) onUnexpectedExit(proc, code, signal);
  });
  return proc;
}

/** Polls `path` until it answers 2xx; fails early when the process exits. */
export async function waitReady(proc: Proc, path = '/ready', timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (${proc.child.signalCode ?? `code ${proc.child.exitCode}`}) before it was ready:\n${proc.tail()}`);
    }
    try {
      const res = await fetch(`${proc.url}${path}`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s:\n${proc.tail()}`);
}

/** The first line a process prints on stdout that parses as JSON (e.g. the MongoDB stand-in's URI). */
export function firstJsonLine<T>(proc: Proc, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`${proc.name} printed nothing within ${timeoutMs / 1000} s:\n${proc.tail()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          return finish(undefined, JSON.parse(line) as T);
        } catch {
          // not the JSON line
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    };
    const onExit = () => finish(new Error(`${proc.name} exited before it was ready:\n${proc.tail()}`));
    function finish(err?: Error, value?: T) {
      clearTimeout(timer);
      proc.child.stdout!.off('data', onData);
      proc.child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    proc.child.stdout!.on('data', onData);
    proc.child.once('exit', onExit);
  });
}

/**
 * SIGTERM to every child (they drain and exit), SIGKILL to any still running after `graceMs`;
 * children marked `stopLast` (what the others flush to on shutdown) only after the rest exited.
 */
export async function stopAll(graceMs = 15_000): Promise<void> {
  stopping = true;
  await stopGroup([...running].filter((p) => !p.stopLast), graceMs);
  await stopGroup([...running], 5_000);
}

async function stopGroup(procs: Proc[], graceMs: number): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
          const force = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
          p.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          p.child.kill('SIGTERM');
        }),
    ),
  );
}

/** Last resort on process exit (synchronous): nothing outlives the benchmark. */
export function killAllNow(): void {
  stopping = true;
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}
