#!/usr/bin/env node
// The fault suite's reaper. Jest gives a test file its own copy of `process`, so a SIGINT or exit
// handler there never runs when the real process is interrupted or dies. Instead the suite starts
// this process with a piped stdin and writes `<pid> <marker>` for every child it starts; when stdin
// closes — the suite finished, crashed, was killed or Ctrl-C'd — every recorded pid that is still
// alive AND still runs the recorded command (no reused pid) gets SIGKILL. Ctrl-C in a terminal also
// reaches this process (same process group): it is ignored here, so the reaper outlives the suite.
// A line `dir <path>` names a temporary directory to remove after the kill.
import { readFileSync, rmSync } from 'node:fs';

const children = new Map();
/** Temporary directories (the suite's Redis AOF) removed once the processes are gone. */
const dirs = new Set();
let buffered = '';

function reap() {
  for (const [pid, marker] of children) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // already gone
    }
    if (!cmdline.includes(marker)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  process.exit(0);
}

process.on('SIGINT', () => undefined);
process.on('SIGTERM', reap);
process.stdin.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const [pid, ...marker] = line.trim().split(' ');
    if (pid === 'dir') dirs.add(marker.join(' '));
    else if (Number(pid) > 0 && marker.length) children.set(Number(pid), marker.join(' '));
  }
});
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
