// A small HTTP client for the sweep: real sockets to the services' loopback ports (keep-alive),
// raw bodies (so malformed JSON and `__proto__` keys reach the server byte for byte), and a budget
// per request so one hung handler cannot stall the whole sweep.

export interface SweepRequest {
  method: string;
  /** Path with query string, e.g. `/api/v1/products?limit=5`. */
  path: string;
  token?: string;
  /** A value is sent as JSON; a string is sent as it is (with a JSON content type unless told otherwise). */
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /** 5xx statuses the route documents; any other 502/503/504 is sent again (see stack.call). */
  declared5xx?: readonly number[];
}

export interface SweepResponse {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
  ms: number;
}

const REQUEST_TIMEOUT_MS = 20_000;

export async function send(baseUrl: string, req: SweepRequest): Promise<SweepResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  let body: string | undefined;
  if (req.rawBody !== undefined) body = req.rawBody;
  else if (req.body !== undefined) body = JSON.stringify(req.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const method = req.method.toUpperCase();
  const started = Date.now();
  const res = await fetch(`${baseUrl}${req.path}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json, ms: Date.now() - started };
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!, i);
    }
  });
  await Promise.all(runners);
  return results;
}
