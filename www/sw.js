// Few-Shot Lab's service worker: after the first visit the app starts and works with no
// network. scripts/write-service-worker fills in VERSION (a hash of the build) and PRECACHE
// (every file of the build but the MNIST shards) after each build.
//
// - install: stores PRECACHE in a cache named after VERSION;
// - activate: deletes the caches of earlier builds, so a new deployment replaces the old one;
// - pages (navigations): network first, the stored copy when offline — a new build is picked
//   up on the next visit;
// - everything else from this origin: the stored copy, else the network (and stored, so shards
//   are kept once a page has used them). Other origins are never touched.
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const CACHE = `fewshot-lab-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((key) => key.startsWith('fewshot-lab-') && key !== CACHE).map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function stored(request) {
  const cache = await caches.open(CACHE);
  return cache.match(request);
}

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (offline) {
    const cache = await caches.open(CACHE);
    return (await cache.match(request, { ignoreSearch: true })) ?? Response.error();
  }
}

async function cacheFirst(request) {
  const hit = await stored(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(request.mode === 'navigate' ? networkFirst(request) : cacheFirst(request));
});
