// Child processes of the fault suite (services, redis-server, the MongoDB stand-in): started on
// 127.0.0.1, their last output kept for error reports, killed on purpose by the suite (and then not
// an "unexpected exit"), and always stopped at the end — on success, failure, Ctrl-C and process exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';

/**
 * The reaper (reaper.mjs) kills every recorded child once this process is gone, however it went:
 * Jest gives a test file its own `process` object, so signal and exit handlers there never fire.
 */
let reaper: ChildProcess | undefined;
export function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [path.join(__dirname, 'reaper.mjs')], { stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.unref();
  }
  reaper.stdin!.write(`${line}\n`);
}

/** Ends the reaper (after every child has stopped): it kills whatever is left and exits. */
export function releaseReaper(): void {
  reaper?.stdin?.end();
  reaper = undefined;
}

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile?: string;
  /** A piped stdin: children that stop when their parent goes away (the MongoDB stand-in). */
  pipeStdin?: boolean;
  /** Text of /proc/<pid>/cmdline that identifies the process (default: its last argument). */
  marker?: string;
}

export class Child {
  child!: ChildProcess;
  private lines: string[] = [];
  private log: WriteStream | undefined;
  /** Set before the suite kills or stops it, so the exit is not reported as a crash. */
  expectedExit = false;
  /** A crash the suite did not cause (reported by the test after each phase). */
  unexpectedExits: string[] = [];

  constructor(readonly spec: ChildSpec) {}

  start(): this {
    this.expectedExit = false;
    this.log ??= this.spec.logFile ? createWriteStream(this.spec.logFile, { flags: 'a' }) : undefined;
    this.log?.write(`\n----- start ${new Date().toISOString()} -----\n`);
    const child = spawn(this.spec.command, this.spec.args, { cwd: this.spec.cwd, env: this.spec.env, stdio: [this.spec.pipeStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.log?.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.lines.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
        if (this.lines.length > 30) this.lines.shift();
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      if (!this.expectedExit && !stoppingAll) this.unexpectedExits.push(`${this.spec.name} exited (${signal ?? `code ${code}`}) at ${new Date().toISOString()}:\n${this.tail()}`);
    });
    this.child = child;
    running.add(this);
    // The marker (the command's last argument) lets the reaper tell this process from a reused pid.
    if (child.pid) tellReaper(`${child.pid} ${this.spec.marker ?? this.spec.args[this.spec.args.length - 1] ?? this.spec.command}`);
    child.once('exit', () => {
      if (this.child === child) running.delete(this);
    });
    return this;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(): string {
    return this.lines.join('\n');
  }

  /** Sends `signal` and waits (bounded) for the exit; SIGKILL when a gentler signal is ignored. */
  async kill(signal: NodeJS.Signals, graceMs = 15_000): Promise<void> {
    this.expectedExit = true;
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    const force = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(force);
  }
}

const running = new Set<Child>();
let stoppingAll = false;

/** SIGTERM to every child still running, SIGKILL after `graceMs`; `last` ones after the rest exited. */
export async function stopAllChildren(last: Child[] = [], graceMs = 10_000): Promise<void> {
  stoppingAll = true;
  const first = [...running].filter((c) => !last.includes(c));
  await Promise.all(first.map((c) => c.kill('SIGTERM', graceMs)));
  await Promise.all([...running].map((c) => c.kill('SIGTERM', 5_000)));
}

/** Synchronous last resort (process exit, Ctrl-C): nothing outlives the suite. */
export function killAllChildrenNow(): void {
  stoppingAll = true;
  for (const c of running) if (c.alive) c.child.kill('SIGKILL');
}

export { freePort } from '../../../bench/lib/processes';

/** Polls until `probe` resolves true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<number> {
  const started = Date.now();
  let lastError = '';
  while (Date.now() - started < timeoutMs) {
    try {
      if (await probe()) return Date.now() - started;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
