import type { RequestHandler } from 'express';
import type { GatewayConfig } from './config';
import { UPSTREAM_NAMES, upstreamUrl, type UpstreamName } from './routes';

export interface ServiceHealth {
  status: 'up' | 'down';
  latencyMs: number;
  /** Why it counts as down: `timeout`, `unreachable` or `http <status>`. */
  error?: string;
}

export interface GatewayHealth {
  status: 'ok' | 'degraded';
  service: 'api-gateway';
  uptimeSeconds: number;
  services: Record<UpstreamName, ServiceHealth>;
}

export interface HealthOptions {
  config: GatewayConfig;
  fetchImpl: typeof fetch;
  /** Per-service probe timeout; a slow service is reported down rather than slowing the answer. */
  timeoutMs?: number;
  /** One probe round serves every /health call within this time, so the public endpoint cannot be used to flood the services. */
  cacheMs?: number;
}

async function probe(url: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<ServiceHealth> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const res = await fetchImpl(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    await res.body?.cancel(); // only the status matters; release the connection
    return res.ok ? { status: 'up', latencyMs: latency() } : { status: 'down', latencyMs: latency(), error: `http ${res.status}` };
  } catch (err) {
    // By name, not instanceof: fetch's DOMException need not share this realm's Error.
    const name = (err as { name?: unknown } | undefined)?.name;
    const timeout = name === 'TimeoutError' || name === 'AbortError';
    return { status: 'down', latencyMs: latency(), error: timeout ? 'timeout' : 'unreachable' };
  }
}

export async function checkServices(options: HealthOptions): Promise<GatewayHealth> {
  const { config, fetchImpl, timeoutMs = 1_000 } = options;
  const results = await Promise.all(UPSTREAM_NAMES.map(async (name) => [name, await probe(upstreamUrl(config, name), fetchImpl, timeoutMs)] as const));
  const services = Object.fromEntries(results) as Record<UpstreamName, ServiceHealth>;
  const allUp = results.every(([, h]) => h.status === 'up');
  return { status: allUp ? 'ok' : 'degraded', service: 'api-gateway', uptimeSeconds: Math.round(process.uptime()), services };
}

/**
 * The gateway's /health: its own liveness plus each service's state. It answers 200 even when a
 * service is down ("degraded"): it doubles as the gateway's liveness probe, and restarting the
 * gateway would not bring a service back.
 */
export function healthHandler(options: HealthOptions): RequestHandler {
  const cacheMs = options.cacheMs ?? 2_000;
  let last: { at: number; result: Promise<GatewayHealth> } | undefined;
  return async (_req, res) => {
    if (!last || Date.now() - last.at > cacheMs) last = { at: Date.now(), result: checkServices(options) };
    res.set('Cache-Control', 'no-store').json(await last.result);
  };
}
