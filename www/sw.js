// Few-Shot Lab's service worker: after the first visit the app starts and works with no
// network. scripts/write-service-worker fills in VERSION (a hash of the build and of this
// file) and PRECACHE (every file of the build but the MNIST shards) after each build.
//
// - install: stores PRECACHE (fresh from the network, not the HTTP cache) in a cache named
//   after this deployment's scope and VERSION;
// - activate: deletes this scope's caches of earlier builds (other deployments on the same
//   origin keep theirs), so a new deployment replaces the old one;
// - pages (navigations): network first, the stored copy when offline — a new build is picked
//   up on the next visit;
// - the build's files and its data (static/): the stored copy, else the network (and stored,
//   so shards are kept once a page has used them). Nothing else is touched: other origins and
//   other paths of this origin go to the network as if there were no worker.
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const SCOPE = self.registration.scope;
const PREFIX = `fewshot-lab ${SCOPE} `;
const CACHE = PREFIX + VERSION;
const OWN = new Set(PRECACHE.map((path) => new URL(path, SCOPE).href));

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith(PREFIX) && key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (offline) {
    const cache = await caches.open(CACHE);
    return (await cache.match(request, { ignoreSearch: true })) ?? Response.error();
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(SCOPE)) return;
  const url = new URL(request.url);
  const path = url.origin + url.pathname;
  if (request.mode === 'navigate') {
    if (path === SCOPE || path === SCOPE + 'index.html') event.respondWith(networkFirst(request));
    return;
  }
  if (OWN.has(request.url) || url.href.startsWith(SCOPE + 'static/')) event.respondWith(cacheFirst(request));
});
