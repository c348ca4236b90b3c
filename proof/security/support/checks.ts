// What every answer of the sweep must satisfy, whatever was sent: no 500 (no undeclared 5xx), no
// stack trace, file path or database error text in the body, and problem+json for every 4xx.
import type { SweepResponse } from './http';

const LEAKS: Array<[string, RegExp]> = [
  ['stack frame', /\bat (?:async )?(?:[\w$.<>[\]]+ )?\(?(?:\/|node:|file:\/\/|[A-Z]:\\)[^\s)]*:\d+(?::\d+)?\)?/],
  ['file path', /(?:\/work\/|\/home\/|\/usr\/(?:src|lib)\/|node_modules\/|[\w-]+\.(?:ts|js|mjs|cjs):\d+)/],
  ['error class', /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|AggregateError)\b: /],
  ['database error', /(?:syntax error at or near|duplicate key value violates|violates (?:foreign key|check|not-null) constraint|invalid input (?:syntax|value) for|relation "[\w.]+" does not exist|unterminated quoted string|invalid byte sequence for encoding|unsupported Unicode escape)/i],
];

export interface Verdict {
  ok: boolean;
  problems: string[];
}

/**
 * Problems with one answer. `declared5xx` are statuses the route documents (e.g. 503 when SMS is not
 * configured): those are answers a client can act on; a 500, or a 5xx nobody documented, is a bug.
 */
export function answerProblems(res: SweepResponse, declared5xx: readonly number[] = []): string[] {
  const problems: string[] = [];
  if (res.status === 500 || (res.status > 500 && !declared5xx.includes(res.status))) problems.push(`status ${res.status}`);
  for (const [what, pattern] of LEAKS) {
    const m = pattern.exec(res.text);
    if (m) problems.push(`${what} in the body: …${res.text.slice(Math.max(0, m.index - 40), m.index + 80)}…`);
  }
  if (res.status >= 400 && res.status < 500) {
    if (!/^application\/problem\+json/.test(res.contentType)) problems.push(`a ${res.status} that is not problem+json (${res.contentType || 'no content type'})`);
    else {
      const body = res.json as { status?: unknown; title?: unknown; type?: unknown } | undefined;
      if (!body || body.status !== res.status || typeof body.title !== 'string' || typeof body.type !== 'string') problems.push(`a ${res.status} whose problem body is incomplete: ${res.text.slice(0, 200)}`);
    }
  }
  return problems;
}

/** Collects findings and renders them as one readable assertion message. */
export class Findings {
  private readonly list: string[] = [];
  count = 0;

  add(context: string, problems: string[]): void {
    this.count += 1;
    for (const p of problems) this.list.push(`${context}: ${p}`);
  }

  fail(context: string, problem: string): void {
    this.list.push(`${context}: ${problem}`);
  }

  get all(): readonly string[] {
    return this.list;
  }

  /** Up to `max` findings, each on its own line (for `expect(...).toEqual([])` output). */
  summary(max = 60): string[] {
    return this.list.length > max ? [...this.list.slice(0, max), `… and ${this.list.length - max} more`] : [...this.list];
  }
}
