// One autocannon measurement: N connections (closed loop: each sends its next request when the
// previous answer arrived) for a fixed time or count, with our own sub-millisecond latency record
// (autocannon's histogram keeps whole milliseconds) of the 2xx answers.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

export interface LoadOptions {
  title: string;
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration?: number;
  amount?: number;
  headers: Record<string, string>;
  /** The path of each request (called once per request). */
  nextPath: () => string;
  /** A POST with this body and a fresh Idempotency-Key per request (each one a new sale, never a replay). */
  post?: string;
  /** Seconds before a request counts as timed out (default 10). */
  timeout?: number;
}

export interface Measurement {
  title: string;
  durationSeconds: number;
  /** Every answer and connection error counted, 2xx or not. */
  responses: number;
  ok: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Successful (2xx) answers per second over the measurement. */
  requestsPerSecond: number;
  /** Latency of 2xx answers in ms (sub-millisecond precision). */
  latencyMs: { p50: number; p90: number; p97_5: number; p99: number; max: number; mean: number };
  /** The raw latency samples (ms), kept to merge the rounds; not written to the results file. */
  samples: Float64Array;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return 0;
  // Nearest-rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

const r2 = (n: number) => Number(n.toFixed(2));

export function latencySummary(samples: Float64Array): Measurement['latencyMs'] {
  const sorted = Float64Array.from(samples).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return {
    p50: r2(percentile(sorted, 50)),
    p90: r2(percentile(sorted, 90)),
    p97_5: r2(percentile(sorted, 97.5)),
    p99: r2(percentile(sorted, 99)),
    max: r2(sorted.length ? sorted[sorted.length - 1]! : 0),
    mean: r2(mean),
  };
}

/** Running instances, so that Ctrl-C can stop a measurement in progress. */
export const activeInstances = new Set<autocannon.Instance>();

export async function measure(options: LoadOptions): Promise<Measurement> {
  let samples = new Float64Array(1 << 16);
  let count = 0;
  const instance = autocannon({
    title: options.title,
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
    timeout: options.timeout ?? 10,
    headers: options.headers,
    requests: [
      {
        method: options.post === undefined ? 'GET' : 'POST',
        ...(options.post === undefined ? {} : { body: options.post }),
        setupRequest: (req) => ({
          ...req,
          path: options.nextPath(),
          ...(options.post === undefined ? {} : { headers: { ...req.headers, 'idempotency-key': randomUUID() } }),
        }),
      },
    ],
  });
  activeInstances.add(instance);
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 200 || statusCode > 299) return;
    if (count === samples.length) {
      const grown = new Float64Array(samples.length * 2);
      grown.set(samples);
      samples = grown;
    }
    samples[count++] = responseTime;
  });
  const result = await instance;
  activeInstances.delete(instance);

  const kept = samples.slice(0, count);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]));
  const responses = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    title: options.title,
    durationSeconds: result.duration,
    responses,
    ok: result['2xx'],
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    requestsPerSecond: result.duration ? Math.round(result['2xx'] / result.duration) : 0,
    latencyMs: latencySummary(kept),
    samples: kept,
  };
}

/** All rounds of one target as a single measurement (requests/s over the summed time, merged latencies). */
export function combine(title: string, parts: Measurement[]): Measurement {
  const samples = new Float64Array(parts.reduce((n, p) => n + p.samples.length, 0));
  let offset = 0;
  for (const p of parts) {
    samples.set(p.samples, offset);
    offset += p.samples.length;
  }
  const statusCodes: Record<string, number> = {};
  for (const p of parts) for (const [code, n] of Object.entries(p.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const sum = (f: (m: Measurement) => number) => parts.reduce((a, p) => a + f(p), 0);
  const durationSeconds = sum((p) => p.durationSeconds);
  return {
    title,
    durationSeconds: r2(durationSeconds),
    responses: sum((p) => p.responses),
    ok: sum((p) => p.ok),
    non2xx: sum((p) => p.non2xx),
    socketErrors: sum((p) => p.socketErrors),
    timeouts: sum((p) => p.timeouts),
    statusCodes,
    requestsPerSecond: durationSeconds ? Math.round(sum((p) => p.ok) / durationSeconds) : 0,
    latencyMs: latencySummary(samples),
    samples,
  };
}

export const errorsOf = (m: Measurement) => m.non2xx + m.socketErrors + m.timeouts;
