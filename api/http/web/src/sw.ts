/**
 * The /scan page's service worker (scope /scan): what the page needs to check a code with no
 * network, in one cache named after the build (a new build is a new worker and a new cache).
 *
 *   /scan (any ?lang=) and /v1/trust   network first, then the cached copy (kept fresh online)
 *   /scan/assets/*, the manifest        cache first (they change only with the build)
 *   anything else (POST /v1/verify ...) untouched: the ledger's answers are never cached here
 */

export {};
declare const self: ServiceWorkerGlobalScope;
declare const BUILD: string;

const CACHE = `tracemark-scan-${BUILD}`;
const SHELL = [
  "/scan",
  "/scan/assets/scan.js",
  "/scan/assets/zxing_reader.wasm",
  "/scan/assets/icon-192.png",
  "/scan/assets/icon-512.png",
  "/scan/manifest.webmanifest",
];
const FRESH = new Set(["/scan", "/v1/trust"]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL);
      try {
        const trust = await fetch("/v1/trust");
        if (trust.ok) await cache.put("/v1/trust", trust);
      } catch {
        /* the page fetches it again once this worker controls it */
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("tracemark-scan-") && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function networkFirst(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) {
      await cache.put(request, answer.clone());
      if (path === "/scan") await cache.put("/scan", answer.clone());
    }
    return answer;
  } catch (error) {
    const kept = (await cache.match(request)) ?? (await cache.match(path, { ignoreSearch: true }));
    if (kept !== undefined) return kept;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  if (kept !== undefined) return kept;
  const answer = await fetch(request);
  if (answer.ok) await cache.put(request, answer.clone());
  return answer;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (FRESH.has(url.pathname)) event.respondWith(networkFirst(request, url.pathname));
  else if (url.pathname.startsWith("/scan/assets/") || url.pathname === "/scan/manifest.webmanifest")
    event.respondWith(cacheFirst(request));
});
