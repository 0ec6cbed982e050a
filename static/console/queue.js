// A desk's screen: its queue and its map side by side, a ticket opened in one click (or with
// the keyboard), kept live by the event stream: a report filed or changed for this desk
// refreshes the queue's first page, its counts and the map, without a reload.

import { createMap } from "./map.js";
import { append, clear, h, problemBox, typing } from "../common/dom.js";
import { addTexts, formatDateTime, formatNumber, named, t } from "../common/i18n.js";
import { Ticket } from "./ticket.js";

addTexts({
  fr: {
    "queue.title": "File du pôle {desk}",
    "queue.list": "Signalements de la file",
    "queue.filters": "Filtres",
    "queue.status": "État",
    "queue.status_open": "Ouverts (par défaut)",
    "queue.overdue": "En retard seulement",
    "queue.search": "Rechercher (référence, adresse, description)",
    "queue.sort": "Trier par",
    "queue.sort.priority": "priorité et échéance",
    "queue.sort.age": "ancienneté",
    "queue.empty": "Aucun signalement ne correspond.",
    "queue.total": "{count} signalement(s), dont {overdue} en retard",
    "queue.more": "Afficher plus",
    "queue.updated": "La file a été mise à jour.",
    "queue.overdue_badge": "en retard",
    "queue.arrived": "arrivé en direct",
    "queue.select": "Sélectionner {reference}",
    "queue.selected": "{count} sélectionné(s)",
    "queue.bulk": "Actions sur la sélection",
    "queue.bulk_acknowledge": "Prendre en compte la sélection",
    "queue.bulk_assign": "Affecter la sélection à",
    "queue.bulk_assign_button": "Affecter",
    "queue.bulk_clear": "Tout désélectionner",
    "queue.bulk_done": "{done} fait(s), {refused} refusé(s).",
    "queue.not_your_desk": "Ce pôle n’est pas le vôtre.",
  },
  en: {
    "queue.title": "{desk} desk queue",
    "queue.list": "Reports in the queue",
    "queue.filters": "Filters",
    "queue.status": "State",
    "queue.status_open": "Open (default)",
    "queue.overdue": "Overdue only",
    "queue.search": "Search (reference, address, description)",
    "queue.sort": "Sort by",
    "queue.sort.priority": "priority and due date",
    "queue.sort.age": "age",
    "queue.empty": "No report matches.",
    "queue.total": "{count} report(s), {overdue} overdue",
    "queue.more": "Show more",
    "queue.updated": "The queue was updated.",
    "queue.overdue_badge": "overdue",
    "queue.arrived": "just arrived",
    "queue.select": "Select {reference}",
    "queue.selected": "{count} selected",
    "queue.bulk": "Actions on the selection",
    "queue.bulk_acknowledge": "Acknowledge the selection",
    "queue.bulk_assign": "Assign the selection to",
    "queue.bulk_assign_button": "Assign",
    "queue.bulk_clear": "Clear the selection",
    "queue.bulk_done": "{done} done, {refused} refused.",
    "queue.not_your_desk": "This desk is not yours.",
  },
});

const STATES = ["new", "acknowledged", "assigned", "in_progress", "reopened", "resolved", "closed", "rejected", "duplicate"];
const PAGE = 100;

let state = null;

export async function render(root, ctx) {
  const desk = ctx.params.desk;
  const deskInfo = ctx.desks.find((d) => d.code === desk);
  state = { ctx, desk, filters: { status: "", overdue: false, q: "", sort: "priority" }, items: [], cursor: null, selected: null, ticket: null, refresh: null, chosen: new Map(), arrivals: [] };
  const title = h("h1", { id: "queue-title", class: "queue-title" }, t("queue.title", { desk: named(deskInfo) || desk }));
  const counts = h("p", { class: "queue-counts", id: "queue-counts", "aria-live": "polite" });
  const list = h("ol", { class: "queue-list", id: "queue-list", "aria-labelledby": "queue-title" });
  const more = h("button", { type: "button", class: "button", id: "queue-more", hidden: true, onclick: () => loadPage(true) }, t("queue.more"));
  const status = h(
    "select",
    { id: "filter-status" },
    h("option", { value: "" }, t("queue.status_open")),
    STATES.map((s) => h("option", { value: s }, t(`status.${s}`))),
  );
  const overdue = h("input", { type: "checkbox", id: "filter-overdue" });
  const search = h("input", { type: "search", id: "filter-q", minlength: 3, maxlength: 100 });
  const sort = h("select", { id: "filter-sort" }, ["priority", "age"].map((s) => h("option", { value: s }, t(`queue.sort.${s}`))));
  const problem = h("div", { id: "queue-problem" });
  const bulk = bulkBar(ctx, desk);
  const filters = h(
    "form",
    {
      class: "queue-filters",
      "aria-label": t("queue.filters"),
      onsubmit: (event) => {
        event.preventDefault();
        state.filters = { status: status.value, overdue: overdue.checked, q: search.value.trim(), sort: sort.value };
        state.arrivals = []; // a filtered view shows what matches, arrivals included
        loadPage(false);
      },
    },
    h("div", { class: "field" }, h("label", { for: "filter-status" }, t("queue.status")), status),
    h("div", { class: "field" }, h("label", { for: "filter-sort" }, t("queue.sort")), sort),
    h("div", { class: "field field--wide" }, h("label", { for: "filter-q" }, t("queue.search")), search),
    h("div", { class: "field field--inline" }, overdue, h("label", { for: "filter-overdue" }, t("queue.overdue"))),
    h("button", { type: "submit", class: "button button-primary" }, t("queue.filters")),
  );
  for (const control of [status, overdue, sort]) control.addEventListener("change", () => filters.requestSubmit());

  const mapElement = h("div", { class: "console-map", id: "console-map" });
  const ticketPane = h("section", { class: "ticket-pane", id: "ticket-pane", "aria-labelledby": "ticket-title", hidden: true });
  const layout = h(
    "div",
    { class: "desk-view", id: "desk-view" },
    h("section", { class: "queue-pane", "aria-labelledby": "queue-title" }, title, counts, filters, problem, bulk.element, list, more),
    h("div", { class: "map-pane" }, mapElement),
    ticketPane,
  );
  root.append(layout);
  Object.assign(state, { list, counts, more, problem, ticketPane, layout, search, bulk });
  state.map = createMap(mapElement, { tileUrl: ctx.config.tile_url, onSelect: (id) => ctx.navigate(`#/queue/${desk}/${id}`),
    onAsset: (reference) => ctx.navigate(`#/equipment/${encodeURIComponent(reference)}`),
  });
  state.ticket = new Ticket(ticketPane, ctx, {
    map: state.map,
    onChanged: () => loadPage(false),
    onClose: () => ctx.navigate(`#/queue/${desk}`),
  });

  state.onReport = (event) => {
    const detail = event.detail || {};
    if (detail.desk === desk && (detail.change === "created" || detail.previous_desk !== desk)) arrived(detail.id);
    if (detail.desk === desk || detail.previous_desk === desk) scheduleRefresh();
  };
  state.onResync = () => scheduleRefresh();
  ctx.events.addEventListener("report", state.onReport);
  ctx.events.addEventListener("resync", state.onResync);
  state.onKey = (event) => keys(event);
  document.addEventListener("keydown", state.onKey);

  await loadPage(false);
  await update(ctx.params);
}

export function update(params) {
  if (!state || params.desk !== state.desk) return false;
  const id = params.reportId;
  state.selected = id;
  markSelected();
  if (!id) {
    state.ticketPane.hidden = true;
    state.layout.classList.remove("desk-view--ticket");
    state.map.invalidate();
    state.ticket.map?.setNearby([]);
    return true;
  }
  state.ticketPane.hidden = false;
  state.layout.classList.add("desk-view--ticket");
  state.map.invalidate();
  state.ticket.open(id);
  return true;
}

export function dispose() {
  if (!state) return;
  state.ctx.events.removeEventListener("report", state.onReport);
  state.ctx.events.removeEventListener("resync", state.onResync);
  document.removeEventListener("keydown", state.onKey);
  state.ticket.dispose();
  state.map.destroy();
  clearTimeout(state.refresh);
  state = null;
}

function scheduleRefresh() {
  if (!state || state.refresh) return;
  // Several changes in a burst (a bulk action) refresh once.
  state.refresh = setTimeout(async () => {
    if (!state) return;
    state.refresh = null;
    await loadPage(false, true);
  }, 200);
}

function query(cursor) {
  const f = state.filters;
  return { limit: PAGE, cursor, status: f.status || undefined, overdue: f.overdue ? "true" : undefined, q: f.q.length >= 3 ? f.q : undefined, sort: f.sort };
}

async function loadPage(append, live = false) {
  const { ctx, desk } = state;
  clear(state.problem);
  // The list and the map are drawn as soon as their page arrives; the counts follow.
  const counts = append
    ? null
    : ctx.api(`/v1/desks/${encodeURIComponent(desk)}/queue/counts`, { query: { ...query(), limit: undefined, cursor: undefined, sort: undefined } }).then(
        (answer) => state && showCounts(answer.body),
        () => {},
      );
  try {
    const page = await ctx.api(`/v1/desks/${encodeURIComponent(desk)}/queue`, { query: query(append ? state.cursor : undefined) });
    if (!state) return;
    state.items = append ? state.items.concat(page.body.items) : page.body.items;
    state.cursor = page.body.next_cursor;
    if (!append) keepArrivals();
    drawList();
    drawMap();
    if (!append && !live && !state.fitted) state.fitted = state.map.fit();
    if (live) ctx.announce(t("queue.updated"));
  } catch (error) {
    if (!state) return;
    state.problem.append(problemBox(error, t));
  }
  await counts;
}

// Reports that arrived in this desk while the console is open are shown at the top of the
// queue and on the map whatever the sort (in a large queue the first page may not reach
// them), until they leave the desk, the agent filters the queue or reloads the page.
function filtered() {
  const f = state.filters;
  return Boolean(f.status || f.overdue || f.q);
}

async function arrived(id) {
  if (filtered() || state.arrivals.some((item) => item.id === id)) return;
  try {
    const report = (await state.ctx.api(`/v1/reports/${id}`)).body;
    if (!state || report.desk?.code !== state.desk) return;
    state.arrivals.unshift({ ...report, arrived: true });
    state.arrivals = state.arrivals.slice(0, 20);
    drawList();
    drawMap();
  } catch (_) {
    /* gone or out of reach: nothing to show */
  }
}

function keepArrivals() {
  // Still in the desk and open: kept (refreshed from the page when it holds them).
  const shown = new Map(state.items.map((item) => [item.id, item]));
  state.arrivals = state.arrivals
    .map((item) => ({ ...(shown.get(item.id) || item), arrived: true }))
    .filter((item) => ["new", "acknowledged", "assigned", "in_progress", "reopened"].includes(item.status));
}

function visibleItems() {
  const arrivedIds = new Set(state.arrivals.map((item) => item.id));
  return [...state.arrivals, ...state.items.filter((item) => !arrivedIds.has(item.id))];
}

function drawMap() {
  state.map.setReports(visibleItems(), state.selected);
}

function showCounts(body) {
  clear(state.counts);
  append(state.counts, [
    h("span", { class: "queue-total" }, t("queue.total", { count: formatNumber(body.total), overdue: formatNumber(body.total_overdue) })),
    " ",
    h("br"),
    Object.entries(body.counts || {}).map(([s, n]) => h("span", { class: `badge status-${s}`, "data-status": s }, `${t(`status.${s}`)} : ${formatNumber(n)}`)),
  ]);
}

function drawList() {
  const { list, desk } = state;
  const items = visibleItems();
  const focused = document.activeElement?.dataset?.reportId;
  clear(list);
  if (!items.length) list.append(h("li", { class: "queue-empty" }, t("queue.empty")));
  for (const item of items) {
    const link = h(
      "a",
      {
        href: `#/queue/${desk}/${item.id}`,
        class: "queue-item",
        "data-report-id": item.id,
      },
      h(
        "span",
        { class: "queue-item__top" },
        h("strong", {}, item.reference),
        " ",
        h("span", { class: `badge status-${item.status}` }, t(`status.${item.status}`)),
        item.overdue ? h("span", { class: "badge badge-overdue" }, t("queue.overdue_badge")) : null,
        item.arrived ? h("span", { class: "badge badge-arrived" }, t("queue.arrived")) : null,
      ),
      h("span", { class: "queue-item__what" }, named(item.category), " · ", t(`priority.${item.priority}`)),
      h("span", { class: "queue-item__where" }, [item.address, item.commune?.name].filter(Boolean).join(", ")),
      h("span", { class: "queue-item__when" }, formatDateTime(item.created_at)),
    );
    const box = h("input", {
      type: "checkbox",
      class: "queue-select",
      id: `select-${item.id}`,
      "aria-label": t("queue.select", { reference: item.reference }),
      checked: state.chosen.has(item.id) ? true : null,
    });
    box.addEventListener("change", () => choose(item, box.checked));
    list.append(h("li", { class: item.arrived ? "queue-row queue-row--arrived" : "queue-row" }, box, link));
  }
  state.more.hidden = !state.cursor;
  markSelected();
  if (focused) list.querySelector(`[data-report-id="${focused}"]`)?.focus();
}

function choose(item, on) {
  if (on) state.chosen.set(item.id, item.version);
  else state.chosen.delete(item.id);
  state.bulk.show();
}

function bulkBar(ctx, desk) {
  const count = h("p", { class: "bulk-count", id: "bulk-count", role: "status" });
  const crew = h("select", { id: "bulk-crew" });
  const outcome = h("div", { id: "bulk-outcome", role: "status" });
  ctx.api("/v1/crews").then((answer) => {
    for (const c of answer.body.filter((c) => c.desk === desk && c.active !== false)) crew.append(h("option", { value: c.code }, c.name));
  }, () => {});
  async function run(action, extra = {}) {
    clear(outcome);
    const reports = [...state.chosen].map(([id, version]) => ({ id, version }));
    try {
      const answer = await ctx.api(`/v1/reports/bulk-actions/${action}`, { method: "POST", body: { reports, ...extra } });
      const refused = answer.body.results.filter((r) => !r.ok);
      const byId = new Map(state.items.map((i) => [i.id, i.reference]));
      outcome.append(
        h("p", {}, t("queue.bulk_done", { done: answer.body.results.length - refused.length, refused: refused.length })),
        refused.length ? h("ul", { class: "problem" }, refused.map((r) => h("li", {}, `${byId.get(r.id) || r.id} : ${r.detail || r.code}`))) : null,
      );
      state.chosen.clear();
      await loadPage(false);
      show();
    } catch (error) {
      outcome.append(problemBox(error, t));
    }
  }
  const element = h(
    "section",
    { class: "bulk-bar", id: "bulk-bar", "aria-label": t("queue.bulk"), hidden: true },
    count,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "button", class: "button button-primary", id: "bulk-acknowledge", onclick: () => run("acknowledge") }, t("queue.bulk_acknowledge")),
      h("label", { for: "bulk-crew", class: "bulk-label" }, t("queue.bulk_assign")),
      crew,
      h("button", { type: "button", class: "button", id: "bulk-assign", onclick: () => run("assign", { crew: crew.value }) }, t("queue.bulk_assign_button")),
      h("button", { type: "button", class: "button", onclick: () => { state.chosen.clear(); drawList(); show(); } }, t("queue.bulk_clear")),
    ),
    outcome,
  );
  function show() {
    const n = state?.chosen.size || 0;
    element.hidden = n === 0 && !outcome.firstChild;
    count.textContent = t("queue.selected", { count: n });
  }
  return { element, show };
}

function markSelected() {
  for (const link of state.list.querySelectorAll(".queue-item")) {
    const selected = Number(link.dataset.reportId) === state.selected;
    link.classList.toggle("queue-item--selected", selected);
    if (selected) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

function keys(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
  if (event.key === "Escape" && !typing(event) && state.selected) {
    event.preventDefault();
    const id = state.selected;
    state.ctx.navigate(`#/queue/${state.desk}`);
    setTimeout(() => state?.list.querySelector(`[data-report-id="${id}"]`)?.focus(), 50);
    return;
  }
  if (typing(event)) return;
  const links = [...state.list.querySelectorAll(".queue-item")];
  const index = links.indexOf(document.activeElement);
  if (["j", "ArrowDown", "k", "ArrowUp"].includes(event.key) && (index >= 0 || ["j", "k"].includes(event.key))) {
    event.preventDefault();
    const forward = event.key === "j" || event.key === "ArrowDown";
    const start = index >= 0 ? index : links.findIndex((l) => Number(l.dataset.reportId) === state.selected);
    const next = links[Math.max(0, Math.min(links.length - 1, start + (forward ? 1 : -1)))] || links[0];
    next?.focus();
  } else if (event.key === "o" && index >= 0) {
    event.preventDefault();
    links[index].click();
  } else if (event.key === "x" && index >= 0) {
    event.preventDefault();
    const box = links[index].parentElement.querySelector(".queue-select");
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change"));
  } else if (event.key === "/") {
    event.preventDefault();
    state.search.focus();
  } else if (state.selected && ["a", "s", "u", "n"].includes(event.key)) {
    const action = { a: "acknowledge", s: "assign", u: "public_update", n: "note" }[event.key];
    if (state.ticket.focusAction(action)) event.preventDefault();
  }
}
