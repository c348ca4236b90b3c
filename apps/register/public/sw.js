/* global self, caches */
// The register's service worker: keeps the app shell (index.html and its hashed assets) so the
// register opens even when the gateway is unreachable. It never touches the API: sales, lookups
// and the offline queue are the app's business (IndexedDB), not the cache's.
const CACHE = 'cloud-pos-register-shell';
const NOT_MINE = /^\/(api|api-docs|\.well-known|health|ready|metrics|openapi\.json)(\/|$)/;

/** Caches `/` and every /assets/ file it references, and drops assets of older builds. */
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const res = await fetch('/', { cache: 'no-store' });
  if (!res.ok) return;
  const html = await res.clone().text();
  const assets = [...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]))];
  await cache.put('/', res);
  await Promise.all(assets.map((a) => cache.add(a).catch(() => undefined)));
  for (const req of await cache.keys()) {
    const path = new URL(req.url).pathname;
    if (path.startsWith('/assets/') && !assets.includes(path)) await cache.delete(req);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().catch(() => undefined));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || NOT_MINE.test(url.pathname)) return;
  if (req.mode === 'navigate') {
    // Network first (a new build shows at once), the cached shell when offline.
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok && res.headers.get('content-type')?.includes('text/html')) cacheShell().catch(() => undefined);
          return res;
        })
        .catch(() => caches.match('/').then((hit) => hit || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    // Hashed file names never change content: cache first.
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              caches.open(CACHE).then((c) => c.put(req, copy));
            }
            return res;
          }),
      ),
    );
  }
});
