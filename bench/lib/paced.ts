// Open-loop load at a fixed rate: requests are started on an even schedule (not when the previous
// answer arrives), over at most N keep-alive connections. autocannon's own `overallRate` sends each
// connection's quota in a burst at the start of every second, which measures queueing behind that
// burst rather than the latency at a steady rate; this generator spaces requests evenly instead.
// Latency is counted from the moment a request is issued (including any wait for a free connection
// in the agent, so a stall of the server still shows). It is not counted from the scheduled time:
// on this VM the pacer's 1 ms timer often fires several milliseconds late (a test against a bare
// local server showed a median lateness of ~5 ms), which would add the pacer's own lateness to every
// sample; the requests then leave in small groups instead of one by one.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { latencySummary, type Measurement } from './load';

export interface PacedOptions {
  title: string;
  url: string;
  connections: number;
  rate: number;
  duration: number;
  headers: Record<string, string>;
  nextPath: () => string;
  /** A JSON body to POST instead of a GET, each request with a fresh Idempotency-Key. */
  post?: string;
  /** Stops sending (the measurement then ends with what it has). */
  signal?: AbortSignal;
}

export async function measurePaced(options: PacedOptions): Promise<Measurement> {
  const { url, rate, duration, connections } = options;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const target = new URL(url);
  const samples = new Float64Array(Math.ceil(rate * duration) + 16);
  let count = 0;
  let ok = 0;
  let non2xx = 0;
  let socketErrors = 0;
  let timeouts = 0;
  const statusCodes: Record<string, number> = {};
  const total = Math.round(rate * duration);
  let sent = 0;
  let settled = 0;

  const start = performance.now();
  await new Promise<void>((resolve) => {
    const done = () => {
      settled++;
      if (settled === total || (options.signal?.aborted && settled === sent)) resolve();
    };
    const fire = () => {
      const issuedAt = performance.now();
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: options.nextPath(),
          method: options.post === undefined ? 'GET' : 'POST',
          headers: options.post === undefined ? options.headers : { ...options.headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          agent,
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            const code = res.statusCode ?? 0;
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if (code >= 200 && code < 300) {
              ok++;
              samples[count++] = performance.now() - issuedAt;
            } else {
              non2xx++;
            }
            done();
          });
        },
      );
      req.once('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.once('error', () => {
        socketErrors++;
        done();
      });
      req.end(options.post);
    };
    // Every timer tick, start the requests whose time has come (evenly spaced at 1/rate).
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed / 1000) * rate));
      while (sent < due) {
        sent++;
        fire();
      }
      if (options.signal?.aborted) {
        agent.destroy();
        if (settled === sent) resolve();
        return;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const durationSeconds = (performance.now() - start) / 1000;
  agent.destroy();
  const kept = samples.slice(0, count);
  return {
    title: options.title,
    durationSeconds: Number(durationSeconds.toFixed(2)),
    responses: ok + non2xx,
    ok,
    non2xx,
    socketErrors: socketErrors - timeouts,
    timeouts,
    statusCodes,
    requestsPerSecond: Math.round(ok / durationSeconds),
    latencyMs: latencySummary(kept),
    samples: kept,
  };
}
