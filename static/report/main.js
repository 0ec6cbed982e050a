// The resident page (/report/): sign-in (Firebase anonymous sign-in, the session kept in the
// browser), the header (report, my reports, notifications with the unread count, language),
// the offline notice, the service worker, and the router: #/ (the report being written, at
// its step), #/sent/<id>, #/reports/<id>, #/mine, #/notifications. Each screen is a module
// exporting render(root, ctx).

import { api } from "../common/api.js";
import { onUserChange, signInAnonymous, startAuth } from "../common/auth.js";
import { clear, h, problemBox } from "../common/dom.js";
import { addTexts, lang, setLang, t } from "../common/i18n.js";
import * as wizard from "./wizard.js";
import * as sent from "./sent.js";
import * as reportPage from "./report-page.js";
import * as mine from "./mine.js";
import * as notifications from "./notifications.js";

addTexts({
  fr: {
    "app.title": "Signale — Signaler un problème",
    "app.skip": "Aller au contenu",
    "app.loading": "Chargement…",
    "app.offline": "Vous êtes hors ligne : votre signalement est gardé sur ce téléphone et partira au retour du réseau.",
    "nav.label": "Menu",
    "nav.report": "Signaler",
    "nav.mine": "Mes signalements",
    "nav.notifications": "Notifications",
    "nav.unread": "{count} non lue(s)",
    "nav.language": "English",
    "nav.language_label": "Use this page in English",
    "signin.failed": "La connexion au service a échoué ({code}). Vérifiez votre connexion puis rechargez la page.",
    "error.generic": "Une erreur est survenue.",
    "error.not_found": "Cette page n’existe pas.",
    "error.network": "Le service ne répond pas : vérifiez votre connexion. Rien n’est perdu.",
  },
  en: {
    "app.title": "Signale — Report a problem",
    "app.skip": "Skip to content",
    "app.loading": "Loading…",
    "app.offline": "You are offline: your report is kept on this phone and will be sent when the network is back.",
    "nav.label": "Menu",
    "nav.report": "Report",
    "nav.mine": "My reports",
    "nav.notifications": "Notifications",
    "nav.unread": "{count} unread",
    "nav.language": "Français",
    "nav.language_label": "Utiliser cette page en français",
    "signin.failed": "Signing in to the service failed ({code}). Check your connection, then reload the page.",
    "error.generic": "Something went wrong.",
    "error.not_found": "There is no such page.",
    "error.network": "The service does not answer: check your connection. Nothing is lost.",
  },
});

const main = document.getElementById("report-main");
const header = document.getElementById("resident-header");
const announcer = document.getElementById("report-announcer");
const offline = document.getElementById("offline-banner");

const ctx = {
  config: null,
  user: null,
  unread: null,
  catalogue: null,
  announce(text) {
    announcer.textContent = "";
    window.setTimeout(() => (announcer.textContent = text), 50);
  },
  go(hash) {
    if (window.location.hash === hash) route();
    else window.location.hash = hash;
  },
  // The problem as the API wrote it (in the page's language); a network failure said so.
  problem(error) {
    if (error?.code === "network_unreachable") {
      showOffline(true);
      return h("div", { class: "problem", role: "alert" }, h("p", {}, t("error.network")));
    }
    return problemBox(error, t);
  },
  async categories() {
    if (!ctx.catalogue) ctx.catalogue = (await api("/v1/categories")).body;
    return ctx.catalogue;
  },
  category(code) {
    for (const group of ctx.catalogue?.groups || []) {
      for (const category of group.categories) if (category.code === code) return category;
    }
    return null;
  },
  refreshUnread,
  drawHeader,
};

function showOffline(yes) {
  offline.hidden = !yes;
  offline.textContent = t("app.offline");
}

function drawHeader() {
  document.title = t("app.title");
  document.getElementById("skip-link").textContent = t("app.skip");
  const current = window.location.hash || "#/";
  const link = (href, label, extra) =>
    h(
      "a",
      {
        href,
        class: "resident-nav__link",
        "aria-current": current === href || (href === "#/" && current.startsWith("#/sent")) ? "page" : null,
      },
      label,
      extra,
    );
  const unread = ctx.unread
    ? h("span", { class: "badge", id: "unread-count" }, h("span", { "aria-hidden": "true" }, String(ctx.unread)), h("span", { class: "visually-hidden" }, t("nav.unread", { count: ctx.unread })))
    : null;
  clear(header);
  header.append(
    h("p", { class: "resident-header__title" }, "Signale"),
    h(
      "nav",
      { class: "resident-nav", "aria-label": t("nav.label") },
      link("#/", t("nav.report")),
      link("#/mine", t("nav.mine")),
      link("#/notifications", t("nav.notifications"), unread),
    ),
    h(
      "button",
      {
        type: "button",
        class: "button button-link",
        id: "language",
        lang: lang() === "fr" ? "en" : "fr",
        "aria-label": t("nav.language_label"),
        onclick: () => {
          setLang(lang() === "fr" ? "en" : "fr");
          drawHeader();
          route();
        },
      },
      t("nav.language"),
    ),
  );
}

async function refreshUnread() {
  try {
    const { body } = await api("/v1/me/notifications", { query: { limit: 1 } });
    ctx.unread = body.unread_count;
  } catch (_) {
    /* the count waits for the next screen */
  }
  drawHeader();
}

const ROUTES = [
  [/^#?\/?$/, () => wizard],
  [/^#\/sent\/(\d+)$/, () => sent],
  [/^#\/reports\/(\d+)$/, () => reportPage],
  [/^#\/mine$/, () => mine],
  [/^#\/notifications$/, () => notifications],
];

let drawing = 0;

async function route() {
  const hash = window.location.hash || "#/";
  const turn = ++drawing;
  drawHeader();
  for (const [pattern, screen] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    clear(main);
    main.append(h("p", { class: "loading" }, t("app.loading")));
    const root = h("div", { class: "screen" });
    try {
      await screen().render(root, ctx, ...match.slice(1));
    } catch (error) {
      root.append(ctx.problem(error));
    }
    if (turn !== drawing) return; // another screen was asked for meanwhile
    clear(main);
    main.append(root);
    const title = root.querySelector("h1");
    if (title) {
      title.tabIndex = -1;
      title.focus({ preventScroll: false });
    }
    return;
  }
  clear(main);
  main.append(h("h1", {}, t("error.not_found")), h("p", {}, h("a", { href: "#/" }, t("nav.report"))));
}

async function start() {
  document.documentElement.lang = lang();
  showOffline(!navigator.onLine);
  window.addEventListener("online", () => showOffline(false));
  window.addEventListener("offline", () => showOffline(true));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/report/sw.js", { scope: "/report/" }).catch(() => {});
  }
  try {
    const response = await fetch("/report/config.json", { headers: { Accept: "application/json" } });
    ctx.config = await response.json();
  } catch (error) {
    showOffline(true);
    clear(main);
    main.append(h("h1", {}, t("app.title")), h("p", { class: "problem", role: "alert" }, t("error.network")));
    return;
  }
  try {
    await startAuth(ctx.config, { persistence: "local" });
  } catch (error) {
    clear(main);
    main.append(h("p", { class: "problem", role: "alert" }, t("signin.failed", { code: error.code })));
    return;
  }
  let first = true;
  onUserChange(async (user) => {
    ctx.user = user;
    if (!user) {
      try {
        await signInAnonymous(); // onUserChange is called again with the new account
      } catch (error) {
        clear(main);
        main.append(h("p", { class: "problem", role: "alert" }, t("signin.failed", { code: error.code })));
      }
      return;
    }
    if (first) {
      first = false;
      window.addEventListener("hashchange", route);
      await route();
      refreshUnread();
    }
  });
}

start();
