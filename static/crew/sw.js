// The crew app's service worker (served at /crew/sw.js: its scope is /crew/). It keeps the
// app shell (the page, its modules, styles, the Firebase compat scripts and Leaflet) in the
// Cache Storage and serves it cache-first, refreshing the copy from the network behind
// (stale-while-revalidate), so the app opens with no network and picks up a new version on
// the next opening. The page's configuration is network-first (its last copy offline).
// Report photos (/v1/media/...) are cached when first shown. Every other API call goes to
// the network untouched: the tickets live in IndexedDB, the work in the outbox (outbox.js).

const VERSION = "crew-v1";
const SHELL = `${VERSION}-shell`;
const MEDIA = `${VERSION}-media`;
const CONFIG = "/crew/config.json";
const PRECACHE = [
  "/crew/",
  CONFIG,
  "/crew/manifest.webmanifest",
  "/static/shared/signale.css",
  "/static/crew/crew.css",
  "/static/crew/main.js",
  "/static/crew/db.js",
  "/static/crew/outbox.js",
  "/static/crew/sync.js",
  "/static/crew/list.js",
  "/static/crew/map.js",
  "/static/crew/ticket.js",
  "/static/crew/conflicts.js",
  "/static/common/api.js",
  "/static/common/auth.js",
  "/static/common/dom.js",
  "/static/common/i18n.js",
  "/static/common/signin.js",
  "/static/node_modules/firebase/firebase-app-compat.js",
  "/static/node_modules/firebase/firebase-auth-compat.js",
  "/static/node_modules/leaflet/dist/leaflet.js",
  "/static/node_modules/leaflet/dist/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => !name.startsWith(`${VERSION}-`)).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function fromNetwork(request, cacheName) {
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(cacheName);
    await cache.put(request, response.clone());
  }
  return response;
}

// Cache first; the network refreshes the copy behind (its failure is quiet).
async function shell(event, request) {
  const cached = await caches.match(request, { ignoreVary: true });
  const refresh = fromNetwork(request, SHELL).catch(() => null);
  if (cached) {
    event.waitUntil(refresh);
    return cached;
  }
  return (await refresh) || Response.error();
}

async function networkFirst(request) {
  try {
    return await fromNetwork(request, SHELL);
  } catch (_) {
    return (await caches.match(request)) || Response.error();
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  return fromNetwork(request, MEDIA);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === CONFIG) event.respondWith(networkFirst(request));
  else if (url.pathname.startsWith("/v1/media/")) event.respondWith(cacheFirst(request));
  else if (request.mode === "navigate" && (url.pathname === "/crew/" || url.pathname === "/crew")) {
    event.respondWith(shell(event, new Request("/crew/")));
  } else if (PRECACHE.includes(url.pathname)) event.respondWith(shell(event, request));
});
