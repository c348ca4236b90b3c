// Summarises V8 CPU profiles written by `npm run bench -- --profile`: self time by package (or
// project file) and the functions with the most self and total time.
//
//   npx tsx bench/profile-summary.ts [--window lookup|bare] [--top 25] bench/profiles/<run>/*.cpuprofile
//
// --window keeps only the samples taken while that target was measured (windows.json, written by
// the benchmark next to the profiles), leaving out start-up, the import, the cache sweep and warm-ups.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, window: { type: 'string' } } });
const top = Number(values.top) || 25;
if (!positionals.length) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [...] [--top N]');
  process.exit(2);
}

/** `node_modules/jsonwebtoken/...` -> `jsonwebtoken`; `shared/http/dist/auth.js` -> `shared/http/auth.js`; builtins -> `node:internal`. */
function owner(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (built-in modules)';
  const m = /(shared|services)\/([^/]+)\/(?:dist|src)\/(.*)$/.exec(url);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : url.replace(/^file:\/\//, '');
}

const label = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${owner(f)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
const pct = (n: number, total: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let windows: Array<[number, number]> | undefined;
  if (values.window) {
    const wfile = path.join(path.dirname(file), 'windows.json');
    if (!existsSync(wfile)) throw new Error(`${wfile} not found (written by \`npm run bench -- --profile\`)`);
    windows = (JSON.parse(readFileSync(wfile, 'utf8')) as Record<string, Array<[number, number]>>)[values.window];
    if (!windows?.length) throw new Error(`no "${values.window}" windows in ${wfile}`);
  }
  const self = new Map<number, number>();
  // Sample i was taken at startTime + sum of timeDeltas[0..i] (microseconds, monotonic clock);
  // its weight is the time to the next sample.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const weight = profile.timeDeltas[i + 1] ?? 0;
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) return;
    self.set(id, (self.get(id) ?? 0) + weight);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  // Total (inclusive) time per node, then per function label (counted once per stack).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = label(byId.get(cur)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }

  const selfByOwner = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    selfByOwner.set(owner(f), (selfByOwner.get(owner(f)) ?? 0) + t);
    selfByFn.set(label(f), (selfByFn.get(label(f)) ?? 0) + t);
  }
  const list = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `  ${pct(t, busy)}  ${k}`)
      .join('\n');

  console.log(`\n== ${file}${windows ? ` (only while measuring "${values.window}")` : ''}\nsampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${pct(busy, total).trim()}); shares below are of busy time\n`);
  console.log(`self time by package / file:\n${list(selfByOwner, top)}\n`);
  console.log(`self time by function:\n${list(selfByFn, top)}\n`);
  console.log(`total time (including callees) by function:\n${list(inclusive, top * 2)}`);
}
