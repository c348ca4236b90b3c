// Figures of a sweep run (routes, requests, inputs, statuses), written to test-artifacts/ so that
// docs/reliability.md can quote the latest run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class Tally {
  readonly started = Date.now();
  requests = 0;
  readonly statuses: Record<string, number> = {};
  readonly figures: Record<string, unknown> = {};

  count(status: number): void {
    this.requests += 1;
    const key = String(status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
  }

  write(name: string): void {
    const dir = path.join(__dirname, '..', '..', '..', 'test-artifacts', 'security-sweep');
    mkdirSync(dir, { recursive: true });
    const body = { name, finishedAt: new Date().toISOString(), seconds: Math.round((Date.now() - this.started) / 100) / 10, requests: this.requests, statuses: this.statuses, ...this.figures };
    writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
  }
}
