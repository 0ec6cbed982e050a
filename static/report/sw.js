// The resident page's service worker (scope /report/): it keeps the page's shell (the page,
// its scripts, styles and icons, its configuration) so that the page opens without a network
// and says it is offline; the report being written is in IndexedDB, not here. Answers of
// the API (/v1/...: the resident's reports, notifications) are never cached: requests
// outside the shell go to the network untouched.
//
// Network first: online, every file comes fresh (and refreshes the copy); offline, the copy.

const VERSION = "signale-report-v1";
const SHELL = [
  "/report/",
  "/report/config.json",
  "/report/manifest.webmanifest",
  "/static/shared/signale.css",
  "/static/report/report.css",
  "/static/node_modules/leaflet/dist/leaflet.css",
  "/static/node_modules/leaflet/dist/leaflet.js",
  "/static/node_modules/firebase/firebase-app-compat.js",
  "/static/node_modules/firebase/firebase-auth-compat.js",
  "/static/common/api.js",
  "/static/common/auth.js",
  "/static/common/dom.js",
  "/static/common/i18n.js",
  "/static/report/main.js",
  "/static/report/wizard.js",
  "/static/report/store.js",
  "/static/report/icons.js",
  "/static/report/place.js",
  "/static/report/category.js",
  "/static/report/details.js",
  "/static/report/suggestions.js",
  "/static/report/sending.js",
  "/static/report/sent.js",
  "/static/report/report-page.js",
  "/static/report/mine.js",
  "/static/report/notifications.js",
];
const ICONS = "/static/node_modules/lucide-static/icons/";

function inShell(url) {
  return url.origin === self.location.origin && (SHELL.includes(url.pathname) || url.pathname.startsWith(ICONS));
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== VERSION).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  // The page itself, whatever its fragment or query; everything else only if in the shell.
  const key = url.pathname === "/report/" || url.pathname === "/report/index.html" ? "/report/" : inShell(url) ? url.pathname : null;
  if (!key) return; // the API and the rest: straight to the network, never kept
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(VERSION).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key).then((kept) => kept || Response.error())),
  );
});
