// Tuyere Pay service worker: the app shell works offline; API calls always go to the network
// (money data is never served from a cache).
const CACHE = 'tuyere-shell-v1';
const SHELL = ['/', '/manifest.webmanifest', '/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/console')) return;
  if (url.pathname.startsWith('/assets/')) {
    // Hashed names never change: cache first.
    event.respondWith(
      caches.match(event.request).then(
        (hit) =>
          hit ??
          fetch(event.request).then((response) => {
            const copy = response.clone();
            if (response.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
            return response;
          }),
      ),
    );
    return;
  }
  if (event.request.mode === 'navigate' || SHELL.includes(url.pathname)) {
    // The page: network first (new deploys show at once), the cached shell when offline.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          const copy = response.clone();
          if (response.ok)
            caches.open(CACHE).then((cache) => cache.put(url.pathname === '/' ? '/' : event.request, copy));
          return response;
        })
        .catch(() =>
          caches.match(url.pathname === '/' || event.request.mode === 'navigate' ? '/' : event.request),
        ),
    );
  }
});
