import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** scripts/mongo-memory-server.mjs, from src/ or dist/ of this package. */
export const STAND_IN_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'mongo-memory-server.mjs');

export interface MongoStandIn {
  uri: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the in-process MongoDB stand-in (@push.rocks/smartmongo, an ES module) as a child process
 * and resolves with its URI once it listens. For tests and local runs only: its data lives in memory.
 */
export async function startMongoStandIn(options: { port?: number; timeoutMs?: number } = {}): Promise<MongoStandIn> {
  const args = [STAND_IN_SCRIPT, ...(options.port ? ['--port', String(options.port)] : [])];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const lines = readline.createInterface({ input: child.stdout });
  const info = await new Promise<{ uri: string; port: number; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the MongoDB stand-in did not start in time')), options.timeoutMs ?? 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`the MongoDB stand-in exited with code ${code}`)));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as { uri?: string; port?: number; pid?: number };
        if (!parsed.uri) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ uri: parsed.uri, port: parsed.port ?? 0, pid: parsed.pid ?? child.pid ?? 0 });
      } catch {
        // some other line
      }
    });
  });
  lines.close();
  child.stdout.resume();
  return {
    ...info,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    },
  };
}
