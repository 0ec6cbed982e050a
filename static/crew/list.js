// The crew's tickets, from the tablet's IndexedDB (so the list shows with no network): nearest
// first from the tablet's position when it gives one, else most urgent first (priority, then
// due date), as GET /v1/crews/me/tickets orders them; on a list and a map. The tickets the
// crew finished and the sync took away stay under "done" with what was sent.

import { append, clear, h } from "../common/dom.js";
import { addTexts, formatDateTime, named, t } from "../common/i18n.js";
import * as db from "./db.js";
import { ticketMap } from "./map.js";
import { effectiveStatus } from "./outbox.js";

addTexts({
  fr: {
    "list.title": "Tickets de l’équipe",
    "list.empty": "Aucun ticket pour l’équipe.",
    "list.nearest": "Les plus proches d’abord",
    "list.urgent": "Les plus urgents d’abord (position de la tablette inconnue)",
    "list.distance": "{metres} m",
    "list.km": "{km} km",
    "list.due": "À faire avant le {when}",
    "list.overdue": "En retard",
    "list.queued": "{count} action(s) en attente",
    "list.done": "Terminés",
    "list.conflicts": "{count} action(s) à vérifier : le ticket a changé pendant que vous étiez hors ligne.",
    "list.see_conflicts": "Voir",
  },
  en: {
    "list.title": "The crew's tickets",
    "list.empty": "No tickets for the crew.",
    "list.nearest": "Nearest first",
    "list.urgent": "Most urgent first (the tablet's position is unknown)",
    "list.distance": "{metres} m",
    "list.km": "{km} km",
    "list.due": "Due by {when}",
    "list.overdue": "Overdue",
    "list.queued": "{count} action(s) waiting",
    "list.done": "Done",
    "list.conflicts": "{count} action(s) to check: the ticket changed while you were offline.",
    "list.see_conflicts": "See",
  },
});

let position = null; // {lon, lat}: the tablet's last known position
let stopMap = null;
let onChanged = null;
let context = null;

function locate(then) {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (found) => {
      const next = { lon: found.coords.longitude, lat: found.coords.latitude };
      const moved = !position || Math.abs(position.lon - next.lon) + Math.abs(position.lat - next.lat) > 0.0005;
      position = next;
      if (moved) then();
    },
    () => null,
    { maximumAge: 60000, timeout: 10000 },
  );
}

export function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 6371000 * 2 * Math.asin(Math.sqrt(s));
}

function distanceOf(record) {
  const c = record.item?.location?.coordinates;
  return position && c ? metres(position, { lon: c[0], lat: c[1] }) : null;
}

export function ordered(records) {
  const urgency = (a, b) =>
    (a.item.priority ?? 9) - (b.item.priority ?? 9) ||
    String(a.item.due_at || "9999").localeCompare(String(b.item.due_at || "9999")) ||
    a.id - b.id;
  if (!position) return [...records].sort(urgency);
  return [...records].sort((a, b) => (distanceOf(a) ?? Infinity) - (distanceOf(b) ?? Infinity) || urgency(a, b));
}

export function isOverdue(item) {
  return Boolean(item?.due_at) && new Date(item.due_at).getTime() < Date.now() && !["resolved", "closed"].includes(item.status);
}

function ticketItem(record, status, queued) {
  const item = record.item;
  const distance = distanceOf(record);
  return h(
    "li",
    {},
    h(
      "a",
      { href: `#/ticket/${record.id}`, class: `ticket-link ticket-link--${status}`, "data-report-id": record.id, "data-status": status },
      h("span", { class: "ticket-link__title" }, named(item.category), " · ", item.reference),
      h("span", { class: "ticket-link__where" }, item.address || item.commune?.name || ""),
      h(
        "span",
        { class: "ticket-link__facts" },
        h("span", { class: `badge badge--${status}` }, t(`status.${status}`)),
        item.priority ? h("span", { class: `badge badge--p${item.priority}` }, t(`priority.${item.priority}`)) : null,
        distance !== null ? h("span", { class: "ticket-link__distance" }, distance < 1000 ? t("list.distance", { metres: Math.round(distance) }) : t("list.km", { km: (distance / 1000).toFixed(1) })) : null,
        item.due_at ? h("span", {}, t("list.due", { when: formatDateTime(item.due_at) })) : null,
        isOverdue({ ...item, status }) ? h("span", { class: "badge badge--overdue" }, t("list.overdue")) : null,
        queued ? h("span", { class: "badge badge--queued" }, t("list.queued", { count: queued })) : null,
      ),
    ),
  );
}

async function draw(root, ctx) {
  const uid = ctx.uid;
  const [records, entries] = await Promise.all([db.tickets(uid), db.entries(uid)]);
  if (uid !== ctx.uid) return;
  const pending = entries.filter((e) => e.state === "pending");
  const problems = entries.filter((e) => e.state === "conflict" || e.state === "failed");
  const queuedOn = (id) => pending.filter((e) => e.reportId === id).length;
  const open = ordered(records.filter((r) => !r.done && r.item));
  const done = records.filter((r) => r.done && r.item).sort((a, b) => (b.doneAt || 0) - (a.doneAt || 0));
  const rows = open.map((record) => ({ record, status: effectiveStatus(record, pending) }));
  if (stopMap) stopMap();
  stopMap = null;
  clear(root);
  const mapBox = h("div", { class: "crew-map", id: "crew-map" });
  append(root, [
    h("h1", { id: "list-title" }, t("list.title")),
    problems.length
      ? h("div", { class: "notice notice--alert", id: "conflict-notice", role: "alert" }, h("p", {}, t("list.conflicts", { count: problems.length }), " ", h("a", { href: "#/conflicts", class: "button" }, t("list.see_conflicts"))))
      : null,
    h("p", { class: "hint", id: "list-order" }, t(position ? "list.nearest" : "list.urgent")),
    h(
      "div",
      { class: "crew-list-layout" },
      h(
        "section",
        { "aria-labelledby": "list-title", class: "crew-list" },
        rows.length ? h("ul", { class: "ticket-list", id: "ticket-list" }, rows.map(({ record, status }) => ticketItem(record, status, queuedOn(record.id)))) : h("p", { id: "ticket-list-empty" }, t("list.empty")),
        done.length
          ? [h("h2", { id: "done-title" }, t("list.done")), h("ul", { class: "ticket-list ticket-list--done", id: "done-list" }, done.map((record) => ticketItem(record, record.item.status, queuedOn(record.id))))]
          : null,
      ),
      mapBox,
    ),
  ]);
  if (window.L) {
    stopMap = ticketMap(mapBox, {
      tileUrl: ctx.config?.tile_url,
      position,
      tickets: rows.map(({ record, status }) => ({ record, status, label: `${record.item.reference} · ${t(`status.${status}`)}` })),
      onSelect: (id) => {
        window.location.hash = `#/ticket/${id}`;
      },
    });
  }
  root.dataset.ready = "list";
}

export async function render(root, ctx) {
  context = { root, ctx };
  onChanged = () => draw(root, ctx);
  ctx.events.addEventListener("changed", onChanged);
  await draw(root, ctx);
  locate(() => context && draw(root, ctx));
}

export function dispose() {
  if (onChanged && context) context.ctx.events.removeEventListener("changed", onChanged);
  if (stopMap) stopMap();
  stopMap = null;
  onChanged = null;
  context = null;
}
