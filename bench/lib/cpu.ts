// Where the CPU goes during a measurement: user+system time of each process involved (Linux /proc),
// and how busy the whole machine was (so load from other work on a shared box is visible).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the usual Linux value
}

/** CPU time (ms) a process has used so far, or undefined when it is gone or /proc is unavailable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the `(comm)` part, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

/** Pids of every process whose command name is `comm` (e.g. every Postgres backend). */
export function pidsByName(comm: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm;
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** Busy and total CPU time of the whole machine (ms, summed over cores). */
export function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: ((total - idle) / ticksPerSecond) * 1000, total: (total / ticksPerSecond) * 1000 };
  } catch {
    return undefined;
  }
}

export interface CpuGroup {
  name: string;
  /** Re-read for each snapshot (Postgres backends come and go). */
  pids: () => number[];
}

export interface CpuSnapshot {
  at: number;
  groups: Record<string, number>;
  /** Every process on the machine (pid -> name and CPU ms), to name what else was busy. */
  all: Map<number, { comm: string; ms: number }>;
  machine?: { busy: number; total: number };
  self: NodeJS.CpuUsage;
}

function allProcesses(): Map<number, { comm: string; ms: number }> {
  const out = new Map<number, { comm: string; ms: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of entries) {
    const ms = processCpuMs(Number(d));
    if (ms === undefined) continue;
    try {
      out.set(Number(d), { comm: readFileSync(`/proc/${d}/comm`, 'utf8').trim(), ms });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function snapshot(groups: CpuGroup[]): CpuSnapshot {
  const values: Record<string, number> = {};
  const pids = new Set<number>([process.pid]);
  for (const g of groups) {
    const list = g.pids();
    list.forEach((p) => pids.add(p));
    values[g.name] = list.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
  }
  const all = allProcesses();
  for (const p of pids) all.delete(p);
  return { at: performance.now(), groups: values, all, machine: machineCpuMs(), self: process.cpuUsage() };
}

export interface CpuReport {
  /** Cores' worth of CPU each component used on average over the measurement (1.0 = one full core). */
  cores: Record<string, number>;
  /** CPU milliseconds per successful request, per component. */
  msPerRequest: Record<string, number>;
  /** The whole machine: busy share of all cores, and what no component above accounts for. */
  machineBusy?: number;
  otherCores?: number;
  /** The busiest processes outside the components above (cores), e.g. other people's test runs. */
  otherProcesses?: Record<string, number>;
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** Differences between two snapshots; backends that exited in between are simply not counted. */
export function cpuReport(before: CpuSnapshot, after: CpuSnapshot, requests: number): CpuReport {
  const wallMs = after.at - before.at;
  const used: Record<string, number> = {};
  for (const name of Object.keys(after.groups)) used[name] = Math.max(0, after.groups[name]! - (before.groups[name] ?? 0));
  used['load generator (bench process)'] = (after.self.user + after.self.system - before.self.user - before.self.system) / 1000;
  const report: CpuReport = {
    cores: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, round(v / wallMs, 2)])),
    msPerRequest: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, requests ? round(v / requests, 3) : 0])),
  };
  if (before.machine && after.machine) {
    const busy = after.machine.busy - before.machine.busy;
    const total = after.machine.total - before.machine.total;
    const accounted = Object.values(used).reduce((a, b) => a + b, 0);
    report.machineBusy = round(total ? busy / total : 0, 2);
    report.otherCores = round(Math.max(0, busy - accounted) / wallMs, 2);
    const byName = new Map<string, number>();
    for (const [pid, p] of after.all) {
      const delta = p.ms - (before.all.get(pid)?.ms ?? 0); // a process started meanwhile counts whole
      if (delta > 0) byName.set(p.comm, (byName.get(p.comm) ?? 0) + delta);
    }
    report.otherProcesses = Object.fromEntries(
      [...byName.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .filter(([, ms]) => ms / wallMs >= 0.01)
        .map(([name, ms]) => [name, round(ms / wallMs, 2)]),
    );
  }
  return report;
}
