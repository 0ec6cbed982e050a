// The crew tablet app: sign-in (kept on the tablet: persistence "local"), the header (network
// state, work waiting to be sent, last sync, language, sign-out), the router (#/ the list,
// #/ticket/<id>, #/conflicts) and the offline machinery's rhythm: the outbox is replayed on
// start, after sign-in, when the network comes back and every little while, then the tickets
// are synced. Each screen is a module exporting render(root, ctx).

import { api } from "../common/api.js";
import { onUserChange, signInAsDemo, signOutUser, startAuth } from "../common/auth.js";
import { attemptSignIn, passwordForm } from "../common/signin.js";
import { clear, h } from "../common/dom.js";
import { addTexts, formatDateTime, lang, setLang, t } from "../common/i18n.js";
import * as db from "./db.js";
import { replay } from "./outbox.js";
import { sync } from "./sync.js";

addTexts({
  fr: {
    "app.title": "Signale — Équipes",
    "app.name": "Équipes de terrain",
    "app.skip": "Aller au contenu",
    "app.loading": "Chargement…",
    "nav.label": "Navigation",
    "nav.tickets": "Tickets",
    "nav.conflicts": "À vérifier ({count})",
    "nav.language": "English",
    "nav.language_label": "Use the app in English",
    "nav.sign_out": "Se déconnecter",
    "net.online": "En ligne",
    "net.offline": "Hors ligne",
    "net.pending": "{count} action(s) en attente d’envoi",
    "net.none_pending": "Tout est envoyé",
    "net.last_sync": "Synchronisé : {when}",
    "net.never": "Jamais synchronisé",
    "net.sync": "Synchroniser",
    "signin.title": "Connexion des équipes de terrain",
    "signin.intro": "Application des équipes de terrain : vos tickets, même sans réseau.",
    "signin.demo_title": "Comptes de démonstration",
    "signin.demo_intro": "Mode développement (émulateur d’authentification) : choisissez une équipe.",
    "signin.not_crew": "Cette application est réservée aux équipes de terrain. Le personnel du centre de supervision utilise la console.",
    "signin.error.unreachable": "Le service de connexion ne répond pas. Réessayez une fois en ligne.",
    "signout.pending": "{count} action(s) n’ont pas encore été envoyées. Se déconnecter les efface de cette tablette.",
    "signout.confirm": "Se déconnecter quand même",
    "signout.cancel": "Rester connecté",
    "error.generic": "Une erreur est survenue.",
    "error.not_found": "Cette page n’existe pas.",
  },
  en: {
    "app.title": "Signale — Crews",
    "app.name": "Field crews",
    "app.skip": "Skip to content",
    "app.loading": "Loading…",
    "nav.label": "Navigation",
    "nav.tickets": "Tickets",
    "nav.conflicts": "To check ({count})",
    "nav.language": "Français",
    "nav.language_label": "Utiliser l’application en français",
    "nav.sign_out": "Sign out",
    "net.online": "Online",
    "net.offline": "Offline",
    "net.pending": "{count} action(s) waiting to be sent",
    "net.none_pending": "Everything sent",
    "net.last_sync": "Synced: {when}",
    "net.never": "Never synced",
    "net.sync": "Sync",
    "signin.title": "Field crews' sign-in",
    "signin.intro": "The field crews' app: your tickets, even with no network.",
    "signin.demo_title": "Demo accounts",
    "signin.demo_intro": "Development mode (Auth emulator): pick a crew.",
    "signin.not_crew": "This app is for field crews. The control centre's staff use the console.",
    "signin.error.unreachable": "The sign-in service does not answer. Try again once online.",
    "signout.pending": "{count} action(s) have not been sent yet. Signing out erases them from this tablet.",
    "signout.confirm": "Sign out anyway",
    "signout.cancel": "Stay signed in",
    "error.generic": "Something went wrong.",
    "error.not_found": "There is no such page.",
  },
});

const ROUTES = {
  "": () => import("./list.js"),
  ticket: () => import("./ticket.js"),
  conflicts: () => import("./conflicts.js"),
};
const REPLAY_EVERY_MS = 15000;

const main = document.getElementById("crew-main");
const header = document.getElementById("crew-header");
const announcer = document.getElementById("crew-announcer");
const events = new EventTarget(); // "changed": the tickets or the outbox changed
let config = null;
let me = null; // {uid, role, crew, display_name...}
let view = null;
let farewell = null;
let timer = null;
let state = { pending: 0, problems: 0, lastSync: null };

function announce(text) {
  announcer.textContent = "";
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

const ctx = {
  t,
  events,
  announce,
  get me() {
    return me;
  },
  get uid() {
    return me?.uid;
  },
  get config() {
    return config;
  },
  online: () => navigator.onLine,
  work: () => work(),
  changed: () => changed(),
};

// --- the header ---------------------------------------------------------------------------

async function refreshState() {
  if (!me) return;
  const all = await db.entries(me.uid);
  state = {
    pending: all.filter((e) => e.state === "pending").length,
    problems: all.filter((e) => e.state === "conflict" || e.state === "failed").length,
    lastSync: await db.getMeta(me.uid, "lastSync"),
  };
  updateHeader();
}

// The header's structure is drawn on sign-in, language change and navigation; the network
// state, the counts and the sync time are updated in place (a redraw would take the focus
// from a gloved finger's next tap).
function renderHeader() {
  clear(header);
  header.hidden = !me;
  if (!me) return;
  const current = window.location.hash || "#/";
  const other = lang() === "fr" ? "en" : "fr";
  header.append(
    h("p", { class: "crew-brand" }, h("span", { class: "crew-brand__name" }, "Signale"), " ", t("app.name")),
    h(
      "nav",
      { class: "crew-nav", "aria-label": t("nav.label") },
      h(
        "ul",
        {},
        h("li", {}, h("a", { href: "#/", class: "crew-nav__link", "aria-current": current === "#/" ? "page" : null }, t("nav.tickets"))),
        h("li", { id: "conflicts-item" }, h("a", { href: "#/conflicts", id: "conflicts-link", class: "crew-nav__link crew-nav__link--alert", "aria-current": current === "#/conflicts" ? "page" : null })),
      ),
    ),
    h(
      "div",
      { class: "crew-status", role: "status" },
      h("span", { id: "net-state" }),
      h("span", { id: "pending-count" }),
      h("span", { id: "last-sync" }),
    ),
    h(
      "div",
      { class: "crew-tools" },
      h("button", { type: "button", class: "button", id: "sync-button", onclick: () => work({ now: true }) }, t("net.sync")),
      h("button", { type: "button", class: "button", id: "language-button", lang: other, "aria-label": t("nav.language_label"), onclick: () => switchLanguage(other) }, t("nav.language")),
      h("button", { type: "button", class: "button", id: "sign-out", onclick: askSignOut }, t("nav.sign_out")),
    ),
  );
  updateHeader();
}

function updateHeader() {
  if (!me || !document.getElementById("net-state")) return;
  const online = navigator.onLine;
  const net = document.getElementById("net-state");
  net.className = `net-state net-state--${online ? "online" : "offline"}`;
  net.textContent = t(online ? "net.online" : "net.offline");
  const count = document.getElementById("pending-count");
  count.dataset.count = state.pending;
  count.textContent = state.pending ? t("net.pending", { count: state.pending }) : t("net.none_pending");
  document.getElementById("last-sync").textContent = state.lastSync ? t("net.last_sync", { when: formatDateTime(state.lastSync) }) : t("net.never");
  document.getElementById("conflicts-item").hidden = !state.problems;
  document.getElementById("conflicts-link").textContent = t("nav.conflicts", { count: state.problems });
  document.getElementById("sync-button").disabled = !online;
}

function switchLanguage(code) {
  setLang(code);
  document.title = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  if (me) {
    renderHeader();
    route(true);
  } else showSignIn();
  document.getElementById("language-button")?.focus();
}

async function askSignOut() {
  const pending = (await db.entries(me.uid)).filter((e) => e.state === "pending").length;
  if (!pending) return signOut();
  clear(main);
  const confirm = h("button", { type: "button", class: "button button-danger", id: "sign-out-confirm", onclick: () => signOut() }, t("signout.confirm"));
  main.append(
    h(
      "div",
      { class: "panel crew-confirm", role: "alertdialog", "aria-labelledby": "sign-out-text" },
      h("p", { id: "sign-out-text" }, t("signout.pending", { count: pending })),
      h("div", { class: "form-buttons" }, confirm, h("button", { type: "button", class: "button button-primary", id: "sign-out-cancel", onclick: () => route(true) }, t("signout.cancel"))),
    ),
  );
  confirm.focus();
}

async function signOut() {
  const uid = me?.uid;
  if (uid) await db.forget(uid);
  // The reports' photos the service worker kept (sw.js: "<version>-media") leave with them.
  try {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.endsWith("-media")).map((name) => caches.delete(name)));
  } catch (_) {
    /* no Cache Storage here: nothing was kept */
  }
  await signOutUser();
}

// --- the rhythm: replay, then sync --------------------------------------------------------

let working = null;

// Sends what is queued then brings the tickets up to date; nothing is tried while the
// tablet knows it is offline. `now`: the back-off is not waited for.
function work({ now = false } = {}) {
  if (!me || working) return working;
  if (!navigator.onLine) return refreshState();
  const uid = me.uid;
  working = (async () => {
    let moved = false;
    try {
      moved = (await replay(uid, { onChange: changed, now })).sent > 0;
      moved = (await sync(uid)) || moved;
    } catch (_) {
      /* no network, or the API refused: the next round tries again */
    } finally {
      working = null;
      // Screens are drawn again only when something changed; the header always.
      if (me?.uid === uid) await (moved ? changed() : refreshState());
    }
  })();
  return working;
}

async function changed() {
  await refreshState();
  events.dispatchEvent(new CustomEvent("changed"));
}

window.addEventListener("online", () => {
  updateHeader();
  work({ now: true });
});
window.addEventListener("offline", () => updateHeader());

// --- sign-in ------------------------------------------------------------------------------

function showSignIn(message = null) {
  message = message || farewell;
  farewell = null;
  me = null;
  renderHeader();
  document.title = t("app.title");
  clear(main);
  const status = h("div", { id: "signin-status", role: "alert" }, message ? h("p", { class: "problem" }, message) : null);
  const form = passwordForm(status);
  const accounts = config?.demo_accounts || [];
  const demo = config?.auth_emulator
    ? h(
        "section",
        { class: "panel", "aria-labelledby": "demo-title" },
        h("h2", { id: "demo-title" }, t("signin.demo_title")),
        h("p", {}, t("signin.demo_intro")),
        h(
          "ul",
          { class: "demo-accounts" },
          accounts.map((account) =>
            h("li", {}, h("button", { type: "button", class: "button demo-account", "data-uid": account.uid, onclick: () => attemptSignIn(status, () => signInAsDemo(account.uid)) }, h("strong", {}, account.display_name || account.uid), account.crew ? ` (${account.crew})` : "")),
          ),
        ),
      )
    : null;
  const other = lang() === "fr" ? "en" : "fr";
  main.append(
    h(
      "div",
      { class: "signin" },
      h(
        "div",
        { class: "signin__top" },
        h("p", { class: "crew-brand" }, h("span", { class: "crew-brand__name" }, "Signale"), " ", t("app.name")),
        h("button", { type: "button", class: "button", id: "language-button", lang: other, "aria-label": t("nav.language_label"), onclick: () => switchLanguage(other) }, t("nav.language")),
      ),
      h("h1", {}, t("signin.title")),
      h("p", {}, t("signin.intro")),
      status,
      demo,
      h("section", { class: "panel", "aria-labelledby": "password-title" }, h("h2", { id: "password-title" }, t("signin.submit")), form),
    ),
  );
}

// Who is signed in: asked of the API when online, else what the tablet remembers of them.
async function enter(user) {
  clear(main);
  main.append(h("p", { class: "crew-loading" }, t("app.loading")));
  let person = null;
  try {
    person = (await api("/v1/me")).body;
    await db.setMeta(user.uid, "me", person);
  } catch (error) {
    if (error.status && error.status !== 0) {
      showSignIn(error.problem?.detail || t("error.generic"));
      return;
    }
    person = await db.getMeta(user.uid, "me"); // offline: as last seen
  }
  if (!person) {
    showSignIn(t("error.generic"));
    return;
  }
  if (person.role !== "crew") {
    farewell = t("signin.not_crew");
    await signOutUser();
    return;
  }
  me = { ...person, uid: user.uid };
  await refreshState();
  route(true);
  work({ now: true });
  if (timer) window.clearInterval(timer);
  timer = window.setInterval(() => navigator.onLine && work(), REPLAY_EVERY_MS);
}

// --- the router ---------------------------------------------------------------------------

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "ticket") return { name: "ticket", params: { id: Number(parts[1]) } };
  return { name: parts[0] || "", params: {} };
}

async function route(force = false) {
  if (!me) return;
  renderHeader();
  const { name, params } = parse(window.location.hash);
  if (view?.module.dispose) view.module.dispose();
  view = null;
  clear(main);
  main.dataset.ready = ""; // each screen says when it is drawn (the browser tests wait on it)
  const loader = ROUTES[name];
  if (!loader) {
    main.append(h("h1", {}, t("error.not_found")));
    return;
  }
  try {
    const module = await loader();
    view = { name, module };
    await module.render(main, { ...ctx, params });
  } catch (error) {
    clear(main);
    main.append(h("h1", {}, t("error.generic")), h("p", { class: "problem" }, String(error?.message || error)));
  }
}

window.addEventListener("hashchange", () => route());

async function start() {
  document.documentElement.lang = lang();
  document.title = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/crew/sw.js", { scope: "/crew/" }).catch(() => null);
  }
  config = await (await fetch("/crew/config.json")).json();
  await startAuth(config, { persistence: "local" });
  onUserChange((user) => {
    if (user) enter(user);
    else {
      if (timer) window.clearInterval(timer);
      timer = null;
      if (view?.module.dispose) view.module.dispose();
      view = null;
      if (me) window.history.replaceState(null, "", window.location.pathname);
      showSignIn();
    }
  });
}

start().catch((error) => {
  clear(main);
  main.append(h("h1", {}, t("error.generic")), h("p", {}, String(error)));
});
