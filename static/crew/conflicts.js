// What the crew did offline that the API did not take, never dropped silently. A conflict
// (409 offline_conflict; or an after photo refused, 403 photo_not_allowed, because the ticket
// is no longer the crew's) shows both versions: what the crew did (the action, when, on
// which version) and the ticket now (its state, crew and version), and what happened to the
// action: not recorded, and why. A photo not sent stays on the tablet, shown and
// downloadable, until the crew acknowledges it. A failure (another 4xx) shows the API's
// message. Acknowledging removes the entry from the tablet.

import { append, clear, h } from "../common/dom.js";
import { addTexts, formatDateTime, named, t } from "../common/i18n.js";
import * as db from "./db.js";
import { acknowledge } from "./outbox.js";
import "./ticket.js"; // the actions', resolutions' and reasons' words

addTexts({
  fr: {
    "conflicts.title": "Actions à vérifier",
    "conflicts.none": "Rien à vérifier : tout ce que vous avez fait a été enregistré.",
    "conflicts.intro": "Ces tickets ont changé pendant que vous étiez hors ligne. Vos actions ci-dessous n’ont pas été enregistrées : voyez avec le guichet.",
    "conflicts.yours": "Ce que vous avez fait",
    "conflicts.now": "Le ticket maintenant",
    "conflicts.outcome": "Ce qu’il est advenu de votre action",
    "conflicts.field.action": "Action",
    "conflicts.field.when": "Faite le",
    "conflicts.field.version": "Version",
    "conflicts.field.status": "État",
    "conflicts.field.crew": "Équipe",
    "conflicts.not_recorded": "Non enregistrée",
    "conflicts.failed": "Refusée",
    "conflicts.why.not_your_crew_ticket": "le ticket a été confié à une autre équipe",
    "conflicts.why.transition_not_allowed": "cette action n’est plus possible dans l’état actuel du ticket",
    "conflicts.why.photo_not_allowed": "le ticket n’est plus celui de votre équipe : la photo n’a pas été envoyée",
    "conflicts.why.other": "le ticket a changé",
    "conflicts.photo_kept": "La photo est gardée sur la tablette :",
    "conflicts.download": "Enregistrer la photo",
    "conflicts.acknowledge": "J’ai vu, retirer de la tablette",
    "conflicts.no_crew": "aucune",
    "conflicts.unknown": "inconnu",
  },
  en: {
    "conflicts.title": "Actions to check",
    "conflicts.none": "Nothing to check: everything you did was recorded.",
    "conflicts.intro": "These tickets changed while you were offline. Your actions below were not recorded: see with the desk.",
    "conflicts.yours": "What you did",
    "conflicts.now": "The ticket now",
    "conflicts.outcome": "What happened to your action",
    "conflicts.field.action": "Action",
    "conflicts.field.when": "Done at",
    "conflicts.field.version": "Version",
    "conflicts.field.status": "State",
    "conflicts.field.crew": "Crew",
    "conflicts.not_recorded": "Not recorded",
    "conflicts.failed": "Refused",
    "conflicts.why.not_your_crew_ticket": "the ticket was given to another crew",
    "conflicts.why.transition_not_allowed": "this action is no longer possible in the ticket's state",
    "conflicts.why.photo_not_allowed": "the ticket is no longer your crew's: the photo was not sent",
    "conflicts.why.other": "the ticket changed",
    "conflicts.photo_kept": "The photo is kept on the tablet:",
    "conflicts.download": "Save the photo",
    "conflicts.acknowledge": "Seen, remove from the tablet",
    "conflicts.no_crew": "none",
    "conflicts.unknown": "unknown",
  },
});

let state = null;

function actionWords(action) {
  const key = `action.${action}`;
  return t(key) === key ? action : t(key);
}

function whatYouDid(entry) {
  const body = entry.body || {};
  const parts = [actionWords(entry.action)];
  if (body.resolution) parts.push(t(`resolution.${body.resolution}`));
  if (body.reason) parts.push(t(`reason.${body.reason}`));
  if (body.note) parts.push(`« ${body.note} »`);
  if (body.message?.fr) parts.push(`« ${body.message.fr} »`);
  return parts.join(" — ");
}

function why(entry) {
  const problem = entry.answer?.body || {};
  const code = entry.kind === "photo" ? "photo_not_allowed" : problem.why;
  const key = `conflicts.why.${code}`;
  return t(key) === key ? t("conflicts.why.other") : t(key);
}

function row(label, yours, now) {
  return h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "yours" }, yours), h("td", { class: "current" }, now));
}

function entryBox(entry, current) {
  const problem = entry.answer?.body || {};
  const yours = problem.yours || {};
  const conflict = entry.state === "conflict";
  const now = current || {};
  const crew = now.crew ? named(now.crew) || now.crew.code : now.status ? t("conflicts.no_crew") : "—";
  const children = [
    h(
      "table",
      { class: "data-table conflict-versions" },
      h("caption", { class: "visually-hidden" }, `${t("conflicts.yours")} / ${t("conflicts.now")}`),
      h("thead", {}, h("tr", {}, h("td", {}), h("th", { scope: "col" }, t("conflicts.yours")), h("th", { scope: "col" }, t("conflicts.now")))),
      h(
        "tbody",
        {},
        row(t("conflicts.field.action"), whatYouDid(entry), "—"),
        row(t("conflicts.field.when"), formatDateTime(entry.body?.client_at || entry.clientAt), "—"),
        row(t("conflicts.field.status"), entry.ticket?.status ? t(`status.${entry.ticket.status}`) : "—", now.status ? h("span", { class: "conflict-current-status" }, t(`status.${now.status}`)) : t("conflicts.unknown")),
        row(t("conflicts.field.crew"), named(entry.ticket?.crew) || state.ctx.me?.crew || "—", h("span", { class: "conflict-current-crew" }, crew)),
        row(t("conflicts.field.version"), String(yours.version ?? entry.ifMatch ?? entry.ticket?.version ?? "—"), h("span", { class: "conflict-current-version" }, String(now.version ?? "—"))),
      ),
    ),
    h(
      "p",
      { class: "conflict-outcome" },
      h("strong", {}, `${t("conflicts.outcome")} : `),
      conflict ? `${t("conflicts.not_recorded")} — ${why(entry)}.` : `${t("conflicts.failed")} — ${problem.detail || problem.title || `HTTP ${entry.answer?.status}`}`,
    ),
    conflict && problem.detail ? h("p", { class: "hint" }, problem.detail) : null,
  ];
  if (entry.kind === "photo" && entry.blob) {
    const url = URL.createObjectURL(entry.blob);
    state.urls.push(url);
    children.push(
      h(
        "div",
        { class: "conflict-photo" },
        h("p", {}, t("conflicts.photo_kept")),
        h("img", { src: url, alt: t("ticket.queued_photo"), class: "queued-photo" }),
        h("a", { href: url, download: entry.name || "photo.jpg", class: "button" }, t("conflicts.download")),
      ),
    );
  }
  children.push(
    h("button", { type: "button", class: "button", "data-acknowledge": entry.seq, onclick: async () => { await acknowledge(entry.seq); await state.ctx.changed(); } }, t("conflicts.acknowledge")),
  );
  return h("li", { class: `conflict conflict--${entry.state}`, "data-report-id": entry.reportId, "data-kind": entry.kind, "data-state": entry.state }, children);
}

async function draw() {
  if (!state) return;
  const { root, ctx } = state;
  const entries = (await db.entries(ctx.uid)).filter((e) => e.state === "conflict" || e.state === "failed");
  if (!state) return;
  for (const url of state.urls.splice(0)) URL.revokeObjectURL(url);
  clear(root);
  root.append(h("h1", { id: "conflicts-title" }, t("conflicts.title")));
  if (!entries.length) {
    root.append(h("p", { id: "conflicts-none" }, t("conflicts.none")));
    root.dataset.ready = "conflicts";
    return;
  }
  root.append(h("p", {}, t("conflicts.intro")));
  const byTicket = new Map();
  for (const entry of entries) {
    if (!byTicket.has(entry.reportId)) byTicket.set(entry.reportId, []);
    byTicket.get(entry.reportId).push(entry);
  }
  for (const [reportId, group] of byTicket) {
    // The ticket now: the latest answer that carried it (an action's 409 does).
    const carrying = group.filter((e) => e.answer?.body?.current_status).sort((a, b) => (b.answeredAt || 0) - (a.answeredAt || 0))[0];
    const problem = carrying?.answer.body;
    const current = problem ? { status: problem.current_status, version: problem.current_version, crew: problem.current?.crew || null } : null;
    const ticket = group[0].ticket || {};
    root.append(
      h(
        "section",
        { class: "panel conflict-ticket", "aria-labelledby": `conflict-${reportId}`, "data-report-id": reportId },
        h("h2", { id: `conflict-${reportId}` }, named(ticket.category), " · ", ticket.reference || `#${reportId}`),
        h("ul", { class: "conflict-list" }, group.map((entry) => entryBox(entry, current))),
      ),
    );
  }
  root.dataset.ready = "conflicts";
}

export async function render(root, ctx) {
  state = { root, ctx, urls: [], onChanged: () => draw() };
  ctx.events.addEventListener("changed", state.onChanged);
  await draw();
}

export function dispose() {
  if (!state) return;
  state.ctx.events.removeEventListener("changed", state.onChanged);
  for (const url of state.urls) URL.revokeObjectURL(url);
  state = null;
}
