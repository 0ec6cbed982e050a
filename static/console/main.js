// The control-room console: sign-in, the header (navigation by role, language, live state),
// the router (#/queue/<desk>[/<report id>], #/supervision, #/equipment[/<reference>],
// #/admin/users, #/admin/rules, #/privacy/<section>) and the keyboard shortcuts' help. The privacy officer (the CNIL
// correspondent) works no report: no desks, no live stream, the personal-data screens only. Each screen is a module exporting render(root, ctx).

import { api } from "../common/api.js";
import { onUserChange, signInAsDemo, signOutUser, startAuth } from "../common/auth.js";
import { attemptSignIn, passwordForm } from "../common/signin.js";
import { clear, h, problemBox, typing } from "../common/dom.js";
import { connectLive } from "./live.js";
import { addTexts, lang, named, setLang, t } from "../common/i18n.js";

addTexts({
  fr: {
    "app.title": "Signale — Centre de supervision",
    "app.name": "Centre de supervision",
    "app.skip": "Aller au contenu",
    "app.loading": "Chargement…",
    "nav.label": "Navigation principale",
    "nav.queue": "File {desk}",
    "nav.supervision": "Supervision",
    "nav.equipment": "Équipements",
    "nav.users": "Comptes",
    "nav.rules": "Règles d’aiguillage",
    "nav.privacy": "Données personnelles",
    "nav.language": "English",
    "nav.language_label": "Use the console in English",
    "nav.sign_out": "Se déconnecter",
    "nav.shortcuts": "Raccourcis (?)",
    "live.live": "En direct",
    "live.offline": "Hors ligne : reconnexion…",
    "live.connecting": "Connexion…",
    "signin.title": "Connexion à la console",
    "signin.intro": "Réservée aux agents, superviseurs et administrateurs du centre de supervision, et au correspondant CNIL.",
    "signin.demo_title": "Comptes de démonstration",
    "signin.demo_intro": "Mode développement (émulateur d’authentification) : choisissez un compte.",
    "signin.demo_desks": "pôles : {desks}",
    "signin.demo_others": "Autres comptes ({count}) : équipes de terrain, qui n’ont pas accès à la console",
    "signin.not_staff": "Ce compte n’a pas accès à la console : elle est réservée au personnel du centre de supervision.",
    "signin.crew": "Ce compte est celui d’une équipe de terrain : utilisez l’application des équipes.",
    "error.generic": "Une erreur est survenue.",
    "error.not_found": "Cette page n’existe pas.",
    "shortcuts.title": "Raccourcis clavier",
    "shortcuts.close": "Fermer",
    "shortcuts.next": "Signalement suivant de la file",
    "shortcuts.previous": "Signalement précédent de la file",
    "shortcuts.open": "Ouvrir le signalement sélectionné",
    "shortcuts.select": "Sélectionner ou désélectionner le signalement (actions groupées)",
    "shortcuts.acknowledge": "Prendre en compte le signalement ouvert",
    "shortcuts.assign": "Affecter à une équipe",
    "shortcuts.update": "Écrire un message public",
    "shortcuts.note": "Ajouter une note interne",
    "shortcuts.search": "Rechercher dans la file",
    "shortcuts.escape": "Fermer le signalement ou le formulaire",
    "shortcuts.help": "Afficher cette aide",
  },
  en: {
    "app.title": "Signale — Control centre",
    "app.name": "Control centre",
    "app.skip": "Skip to content",
    "app.loading": "Loading…",
    "nav.label": "Main navigation",
    "nav.queue": "{desk} queue",
    "nav.supervision": "Supervision",
    "nav.equipment": "Equipment",
    "nav.users": "Staff accounts",
    "nav.rules": "Routing rules",
    "nav.privacy": "Personal data",
    "nav.language": "Français",
    "nav.language_label": "Utiliser la console en français",
    "nav.sign_out": "Sign out",
    "nav.shortcuts": "Shortcuts (?)",
    "live.live": "Live",
    "live.offline": "Offline: reconnecting…",
    "live.connecting": "Connecting…",
    "signin.title": "Sign in to the console",
    "signin.intro": "For the control centre's agents, supervisors and administrators, and the privacy officer.",
    "signin.demo_title": "Demo accounts",
    "signin.demo_intro": "Development mode (Auth emulator): pick an account.",
    "signin.demo_desks": "desks: {desks}",
    "signin.demo_others": "Other accounts ({count}): field crews, who have no console",
    "signin.not_staff": "This account has no access to the console: it is for the control centre's staff.",
    "signin.crew": "This is a field crew's account: use the crews' app.",
    "error.generic": "Something went wrong.",
    "error.not_found": "There is no such page.",
    "shortcuts.title": "Keyboard shortcuts",
    "shortcuts.close": "Close",
    "shortcuts.next": "Next report in the queue",
    "shortcuts.previous": "Previous report in the queue",
    "shortcuts.open": "Open the selected report",
    "shortcuts.select": "Select or unselect the report (bulk actions)",
    "shortcuts.acknowledge": "Acknowledge the open report",
    "shortcuts.assign": "Assign to a crew",
    "shortcuts.update": "Write a public update",
    "shortcuts.note": "Add an internal note",
    "shortcuts.search": "Search the queue",
    "shortcuts.escape": "Close the report or the form",
    "shortcuts.help": "Show this help",
  },
});

const SHORTCUTS = [
  ["j / ↓", "shortcuts.next"],
  ["k / ↑", "shortcuts.previous"],
  ["Entrée / o", "shortcuts.open"],
  ["x", "shortcuts.select"],
  ["a", "shortcuts.acknowledge"],
  ["s", "shortcuts.assign"],
  ["u", "shortcuts.update"],
  ["n", "shortcuts.note"],
  ["/", "shortcuts.search"],
  ["Échap", "shortcuts.escape"],
  ["?", "shortcuts.help"],
];

// Who signs in to the console; of them, who works reports (desks, live stream, shortcuts).
const STAFF = ["agent", "supervisor", "admin", "privacy_officer"];
const WORKS_REPORTS = ["agent", "supervisor", "admin"];
const ROUTES = {
  queue: () => import("./queue.js"),
  supervision: () => import("./supervision.js"),
  equipment: () => import("./equipment.js"),
  "admin/users": () => import("./admin-users.js"),
  "admin/rules": () => import("./admin-rules.js"),
  privacy: () => import("./privacy.js"),
};

const main = document.getElementById("console-main");
const header = document.getElementById("console-header");
const announcer = document.getElementById("console-announcer");
const events = new EventTarget();
let config = null;
let me = null;
let desks = [];
let view = null; // {name, module}
let stopLive = null;
let liveState = "connecting";
let farewell = null; // why the console signed the person out, told on the sign-in screen

function announce(text) {
  announcer.textContent = "";
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

const ctx = {
  api,
  t,
  events,
  announce,
  navigate,
  get me() {
    return me;
  },
  get desks() {
    return desks;
  },
  get config() {
    return config;
  },
  deskName,
};

function homeOf(person) {
  if (person.role === "agent") return `#/queue/${person.desks[0] || ""}`;
  if (person.role === "supervisor") return "#/supervision";
  if (person.role === "privacy_officer") return "#/privacy/register";
  return "#/admin/users";
}

function deskName(code) {
  return named(desks.find((desk) => desk.code === code)) || code;
}

function visibleDesks() {
  if (!me) return [];
  return me.role === "agent" ? me.desks : desks.map((desk) => desk.code);
}

// --- the header ---------------------------------------------------------------------------

function renderHeader() {
  clear(header);
  header.hidden = !me;
  if (!me) return;
  const current = window.location.hash;
  const link = (hash, text) =>
    h("a", { href: hash, class: "console-nav__link", "aria-current": current.startsWith(hash) ? "page" : null }, text);
  const items = visibleDesks().map((code) => h("li", {}, link(`#/queue/${code}`, t("nav.queue", { desk: deskName(code) }))));
  if (me.role === "supervisor" || me.role === "admin") items.push(h("li", {}, link("#/supervision", t("nav.supervision"))));
  if (WORKS_REPORTS.includes(me.role)) items.push(h("li", {}, link("#/equipment", t("nav.equipment"))));
  if (me.role === "admin") {
    items.push(h("li", {}, link("#/admin/users", t("nav.users"))));
    items.push(h("li", {}, link("#/admin/rules", t("nav.rules"))));
  }
  if (me.role === "admin" || me.role === "privacy_officer") items.push(h("li", {}, link("#/privacy/", t("nav.privacy"))));
  const works = WORKS_REPORTS.includes(me.role);
  const other = lang() === "fr" ? "en" : "fr";
  header.append(
    h("p", { class: "console-brand" }, h("span", { class: "console-brand__name" }, "Signale"), " ", t("app.name")),
    h("nav", { class: "console-nav", "aria-label": t("nav.label") }, h("ul", {}, items)),
    h(
      "div",
      { class: "console-tools" },
      works ? h("span", { class: `live-state live-state--${liveState}`, id: "live-state", role: "status" }, t(`live.${liveState}`)) : null,
      works ? h("button", { type: "button", class: "button", id: "shortcuts-button", onclick: showShortcuts }, t("nav.shortcuts")) : null,
      h(
        "button",
        {
          type: "button",
          class: "button",
          id: "language-button",
          lang: other,
          "aria-label": t("nav.language_label"),
          onclick: () => switchLanguage(other),
        },
        t("nav.language"),
      ),
      h("span", { class: "console-user" }, me.display_name || me.email || me.uid, " · ", t(`role.${me.role}`)),
      h("button", { type: "button", class: "button", id: "sign-out", onclick: () => signOutUser() }, t("nav.sign_out")),
    ),
  );
}

function setLiveState(state) {
  liveState = state;
  const badge = document.getElementById("live-state");
  if (badge) {
    badge.className = `live-state live-state--${state}`;
    badge.textContent = t(`live.${state}`);
  }
}

function switchLanguage(code) {
  setLang(code);
  document.title = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  renderHeader();
  if (me) route(true);
  else showSignIn();
  document.getElementById("language-button")?.focus();
}

// --- the shortcuts' help ------------------------------------------------------------------

function showShortcuts() {
  const dialog = document.getElementById("shortcuts-dialog");
  clear(dialog);
  dialog.append(
    h("h2", { id: "shortcuts-title" }, t("shortcuts.title")),
    h(
      "table",
      { class: "data-table" },
      h("caption", { class: "visually-hidden" }, t("shortcuts.title")),
      h("tbody", {}, SHORTCUTS.map(([keys, text]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, keys)), h("td", {}, t(text))))),
    ),
    h("button", { type: "button", class: "button button-primary", onclick: () => dialog.close() }, t("shortcuts.close")),
  );
  dialog.showModal();
}

document.addEventListener("keydown", (event) => {
  if (event.key === "?" && !typing(event) && me && WORKS_REPORTS.includes(me.role) && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    showShortcuts();
  }
});

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
  const demoButton = (account) =>
    h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "button demo-account",
          "data-uid": account.uid,
          onclick: () => attemptSignIn(status, () => signInAsDemo(account.uid)),
        },
        h("strong", {}, account.display_name || account.uid),
        " — ",
        t(`role.${account.role}`),
        account.desks.length ? ` (${t("signin.demo_desks", { desks: account.desks.join(", ") })})` : "",
        account.crew ? ` (${account.crew})` : "",
      ),
    );
  const accounts = config?.demo_accounts || [];
  const centre = accounts.filter((account) => STAFF.includes(account.role));
  const others = accounts.filter((account) => !STAFF.includes(account.role));
  const demo = config?.auth_emulator
    ? h(
        "section",
        { class: "panel signin-demo", "aria-labelledby": "demo-title" },
        h("h2", { id: "demo-title" }, t("signin.demo_title")),
        h("p", {}, t("signin.demo_intro")),
        h("ul", { class: "demo-accounts" }, centre.map(demoButton)),
        others.length
          ? h(
              "details",
              { class: "demo-others" },
              h("summary", {}, t("signin.demo_others", { count: others.length })),
              h("ul", { class: "demo-accounts" }, others.map(demoButton)),
            )
          : null,
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
        h("p", { class: "console-brand" }, h("span", { class: "console-brand__name" }, "Signale"), " ", t("app.name")),
        h(
          "button",
          { type: "button", class: "button", id: "language-button", lang: other, "aria-label": t("nav.language_label"), onclick: () => switchLanguage(other) },
          t("nav.language"),
        ),
      ),
      h("h1", {}, t("signin.title")),
      h("p", {}, t("signin.intro")),
      status,
      demo,
      h("section", { class: "panel", "aria-labelledby": "password-title" }, h("h2", { id: "password-title" }, t("signin.submit")), form),
    ),
  );
}

async function enter() {
  clear(main);
  main.append(h("p", { class: "console-loading" }, t("app.loading")));
  try {
    me = (await api("/v1/me")).body;
  } catch (error) {
    me = null;
    showSignIn(error.problem?.detail || t("error.generic"));
    return;
  }
  if (!STAFF.includes(me.role)) {
    farewell = me.role === "crew" ? t("signin.crew") : t("signin.not_staff");
    me = null;
    await signOutUser(); // the sign-in screen comes back, saying why
    return;
  }
  if (stopLive) stopLive();
  stopLive = null;
  if (WORKS_REPORTS.includes(me.role)) {
    desks = (await api("/v1/desks")).body;
    stopLive = connectLive(events, { onState: setLiveState });
  } else desks = [];
  if (!window.location.hash || window.location.hash === "#" || window.location.hash === "#/") {
    window.history.replaceState(null, "", homeOf(me));
  }
  route(true);
}

// --- the router ---------------------------------------------------------------------------

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "queue") return { name: "queue", params: { desk: parts[1], reportId: parts[2] ? Number(parts[2]) : null } };
  if (parts[0] === "equipment") return { name: "equipment", params: { reference: parts[1] || null } };
  if (parts[0] === "admin") return { name: `admin/${parts[1]}`, params: {} };
  if (parts[0] === "privacy") return { name: "privacy", params: { section: parts[1] || "register" } };
  return { name: parts[0] || "", params: {} };
}

async function route(force = false) {
  if (!me) return;
  renderHeader();
  const { name, params } = parse(window.location.hash);
  if (!force && view && view.name === name && view.module.update && view.module.update(params) !== false) return;
  if (view?.module.dispose) view.module.dispose();
  view = null;
  clear(main);
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
    main.append(h("h1", {}, t("error.generic")), problemBox(error, t));
  }
}

window.addEventListener("hashchange", () => route());

// A page left for another is kept by the browser (back/forward cache): its stream would hold
// one of the few connections the browser allows to this origin. Closed when the page is
// left, opened again (and what it shows reloaded) when the page comes back.
window.addEventListener("pagehide", () => {
  if (stopLive) stopLive();
  stopLive = null;
});
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || !me || stopLive || !WORKS_REPORTS.includes(me.role)) return;
  stopLive = connectLive(events, { onState: setLiveState });
  events.dispatchEvent(new CustomEvent("resync"));
});

async function start() {
  document.documentElement.lang = lang();
  document.title = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  config = await (await fetch("/console/config.json")).json();
  await startAuth(config);
  onUserChange((user) => {
    if (user) enter();
    else {
      if (stopLive) stopLive();
      stopLive = null;
      // The next person to sign in starts from their own home, not this one's last page.
      if (me) window.history.replaceState(null, "", window.location.pathname);
      if (view?.module.dispose) view.module.dispose();
      view = null;
      showSignIn();
    }
  });
}

start().catch((error) => {
  clear(main);
  main.append(h("h1", {}, t("error.generic")), h("p", {}, String(error)));
});
