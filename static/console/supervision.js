// Supervision (supervisors, admins): every desk's open reports per state, its overdue ones and
// its service level over 30 days; every crew's workload against its capacity; and moving an
// overdue report to another desk (the reroute action, under If-Match: a report changed
// meanwhile is shown as such, and the move can be redone on its current version).
// Figures come from GET /v1/supervision/desks and /crews, kept fresh by the live stream.

import { ApiProblem, etagOf } from "../common/api.js";
import { clear, h, idempotencyKey, problemBox } from "../common/dom.js";
import { addTexts, formatDateTime, formatNumber, named, t } from "../common/i18n.js";

addTexts({
  fr: {
    "sup.title": "Supervision",
    "sup.as_of": "Chiffres au {when}.",
    "sup.desks": "Pôles",
    "sup.desks_caption": "Signalements ouverts par pôle et par état, retards et respect des délais sur {days} jours",
    "sup.desk": "Pôle",
    "sup.open": "Ouverts",
    "sup.overdue": "En retard",
    "sup.oldest": "Le plus ancien",
    "sup.service_level": "Délais tenus ({days} j)",
    "sup.service_level_value": "{share} ({within} sur {resolved})",
    "sup.none": "—",
    "sup.no_resolution": "aucune résolution",
    "sup.age_days": "{days} j {hours} h",
    "sup.age_hours": "{hours} h {minutes} min",
    "sup.show_overdue": "Retards du pôle {desk}",
    "sup.crews": "Équipes de terrain",
    "sup.crews_caption": "Charge de chaque équipe par rapport à sa capacité",
    "sup.crew": "Équipe",
    "sup.load": "Charge",
    "sup.load_text": "{workload} sur {capacity} ({ratio})",
    "sup.tickets": "Affectés ou en cours",
    "sup.over_capacity": "au-delà de sa capacité",
    "sup.inactive": "inactive",
    "sup.no_crews": "Aucune équipe.",
    "sup.overdue_title": "Signalements en retard — {desk}",
    "sup.overdue_caption": "Signalements en retard du pôle {desk}, à réaffecter à un autre pôle si besoin",
    "sup.overdue_none": "Aucun signalement en retard dans ce pôle.",
    "sup.reference": "Référence",
    "sup.category": "Catégorie",
    "sup.state": "État",
    "sup.due": "Échéance",
    "sup.actions": "Actions",
    "sup.reroute": "Réaffecter {reference}",
    "sup.reroute_title": "Réaffecter {reference} à un autre pôle",
    "sup.reroute_desk": "Nouveau pôle",
    "sup.reroute_submit": "Réaffecter",
    "sup.cancel": "Annuler",
    "sup.close": "Fermer la liste des retards",
    "sup.rerouted": "{reference} a été réaffecté au pôle {desk}.",
    "sup.conflict_title": "Ce signalement a changé depuis son affichage",
    "sup.conflict_text": "{reference} est maintenant « {status} » au pôle {desk} (version {version}). Votre réaffectation n’a pas été appliquée.",
    "sup.conflict_redo": "Réaffecter quand même la version actuelle",
    "sup.updated": "Les chiffres de supervision ont été mis à jour.",
  },
  en: {
    "sup.title": "Supervision",
    "sup.as_of": "Figures as of {when}.",
    "sup.desks": "Desks",
    "sup.desks_caption": "Open reports per desk and state, overdue reports and service level over {days} days",
    "sup.desk": "Desk",
    "sup.open": "Open",
    "sup.overdue": "Overdue",
    "sup.oldest": "Oldest",
    "sup.service_level": "Within service level ({days} d)",
    "sup.service_level_value": "{share} ({within} of {resolved})",
    "sup.none": "—",
    "sup.no_resolution": "no resolution",
    "sup.age_days": "{days} d {hours} h",
    "sup.age_hours": "{hours} h {minutes} min",
    "sup.show_overdue": "Overdue reports of {desk}",
    "sup.crews": "Field crews",
    "sup.crews_caption": "Each crew's workload against its capacity",
    "sup.crew": "Crew",
    "sup.load": "Workload",
    "sup.load_text": "{workload} of {capacity} ({ratio})",
    "sup.tickets": "Assigned or in progress",
    "sup.over_capacity": "over capacity",
    "sup.inactive": "inactive",
    "sup.no_crews": "No crews.",
    "sup.overdue_title": "Overdue reports — {desk}",
    "sup.overdue_caption": "Overdue reports of the {desk} desk, to move to another desk if need be",
    "sup.overdue_none": "No overdue report at this desk.",
    "sup.reference": "Reference",
    "sup.category": "Category",
    "sup.state": "State",
    "sup.due": "Due",
    "sup.actions": "Actions",
    "sup.reroute": "Move {reference}",
    "sup.reroute_title": "Move {reference} to another desk",
    "sup.reroute_desk": "New desk",
    "sup.reroute_submit": "Move",
    "sup.cancel": "Cancel",
    "sup.close": "Close the overdue list",
    "sup.rerouted": "{reference} was moved to the {desk} desk.",
    "sup.conflict_title": "This report changed since it was shown",
    "sup.conflict_text": "{reference} is now “{status}” at the {desk} desk (version {version}). Your move was not applied.",
    "sup.conflict_redo": "Move the current version anyway",
    "sup.updated": "The supervision figures were updated.",
  },
});

const OPEN = ["new", "acknowledged", "assigned", "in_progress", "reopened"];
const OVERDUE_PAGE = 100;

let state = null;

export async function render(root, ctx) {
  state = { ctx, root, overdueDesk: null, refresh: null, desks: [] };
  const problem = h("div", { id: "supervision-problem" });
  const asOf = h("p", { class: "hint", id: "supervision-as-of" });
  // Shown once there are figures: a refusal (403) leaves only its message.
  const desksPanel = h("section", { class: "panel supervision-desks", "aria-labelledby": "desks-title", hidden: true }, h("h2", { id: "desks-title" }, t("sup.desks")));
  const overduePanel = h("section", { class: "panel supervision-overdue", id: "overdue-panel", "aria-labelledby": "overdue-title", hidden: true });
  const crewsPanel = h("section", { class: "panel supervision-crews", "aria-labelledby": "crews-title", hidden: true }, h("h2", { id: "crews-title" }, t("sup.crews")));
  root.append(h("div", { class: "supervision" }, h("h1", { id: "supervision-title", tabindex: "-1" }, t("sup.title")), asOf, problem, desksPanel, overduePanel, crewsPanel));
  Object.assign(state, { problem, asOf, desksPanel, overduePanel, crewsPanel });

  state.onReport = () => scheduleRefresh();
  ctx.events.addEventListener("report", state.onReport);
  ctx.events.addEventListener("resync", state.onReport);
  await load();
}

export function dispose() {
  if (!state) return;
  state.ctx.events.removeEventListener("report", state.onReport);
  state.ctx.events.removeEventListener("resync", state.onReport);
  clearTimeout(state.refresh);
  state = null;
}

function scheduleRefresh() {
  if (!state || state.refresh) return;
  // A burst of changes (a bulk action) refreshes once.
  state.refresh = setTimeout(async () => {
    if (!state) return;
    state.refresh = null;
    await load({ quiet: true });
  }, 500);
}

async function load({ quiet = false } = {}) {
  const current = state;
  try {
    const [desks, crews] = await Promise.all([current.ctx.api("/v1/supervision/desks"), current.ctx.api("/v1/supervision/crews")]);
    if (state !== current) return;
    clear(current.problem);
    current.desks = desks.body.desks;
    current.asOf.textContent = t("sup.as_of", { when: formatDateTime(desks.body.as_of) });
    renderDesks(desks.body);
    renderCrews(crews.body.crews);
    current.desksPanel.hidden = false;
    current.crewsPanel.hidden = false;
    if (current.overdueDesk) await loadOverdue(current.overdueDesk, { keepFocus: true });
    if (quiet) current.ctx.announce(t("sup.updated"));
  } catch (error) {
    if (state !== current) return;
    clear(current.problem);
    current.problem.append(problemBox(error, t));
  }
}

// --- desks --------------------------------------------------------------------------------

function age(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  if (days > 0) return t("sup.age_days", { days, hours });
  return t("sup.age_hours", { hours, minutes: Math.floor((seconds % 3600) / 60) });
}

function percent(share) {
  return formatNumber(share, { style: "percent", maximumFractionDigits: 1 });
}

function serviceLevel(level) {
  if (level.share === null || level.share === undefined) return h("span", { class: "hint" }, t("sup.no_resolution"));
  return t("sup.service_level_value", { share: percent(level.share), within: level.within_service_level, resolved: level.resolved });
}

function renderDesks(overview) {
  const panel = state.desksPanel;
  panel.querySelector("table")?.remove();
  const days = overview.window.days;
  const table = h(
    "table",
    { class: "data-table supervision-table", id: "supervision-desks" },
    h("caption", {}, t("sup.desks_caption", { days })),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("sup.desk")),
        OPEN.map((status) => h("th", { scope: "col", class: "number" }, t(`status.${status}`))),
        h("th", { scope: "col", class: "number" }, t("sup.open")),
        h("th", { scope: "col", class: "number" }, t("sup.overdue")),
        h("th", { scope: "col" }, t("sup.oldest")),
        h("th", { scope: "col" }, t("sup.service_level", { days })),
      ),
    ),
    h(
      "tbody",
      {},
      overview.desks.map((row) =>
        h(
          "tr",
          { dataset: { desk: row.desk.code } },
          h("th", { scope: "row" }, named(row.desk)),
          OPEN.map((status) => h("td", { class: "number", dataset: { status } }, formatNumber(row.counts[status] ?? 0))),
          h("td", { class: "number", dataset: { figure: "open" } }, formatNumber(row.open)),
          h(
            "td",
            { class: "number", dataset: { figure: "overdue" } },
            row.overdue > 0
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "button supervision-overdue-button",
                    "aria-label": `${formatNumber(row.overdue)} — ${t("sup.show_overdue", { desk: named(row.desk) })}`,
                    dataset: { overdueDesk: row.desk.code },
                    onclick: () => loadOverdue(row.desk.code),
                  },
                  h("span", { class: "badge badge-overdue" }, formatNumber(row.overdue)),
                )
              : formatNumber(0),
          ),
          h("td", {}, row.oldest_open ? [row.oldest_open.reference, " · ", h("span", { class: "supervision-age" }, age(row.oldest_open.age_seconds))] : t("sup.none")),
          h("td", { dataset: { figure: "service-level" } }, serviceLevel(row.service_level)),
        ),
      ),
    ),
  );
  panel.append(table);
}

// --- crews --------------------------------------------------------------------------------

function renderCrews(crews) {
  const panel = state.crewsPanel;
  for (const old of panel.querySelectorAll("table, p")) old.remove();
  if (!crews.length) {
    panel.append(h("p", {}, t("sup.no_crews")));
    return;
  }
  const table = h(
    "table",
    { class: "data-table supervision-table", id: "supervision-crews" },
    h("caption", {}, t("sup.crews_caption")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("sup.crew")),
        h("th", { scope: "col" }, t("sup.desk")),
        h("th", { scope: "col" }, t("sup.load")),
        h("th", { scope: "col", class: "number" }, t("sup.tickets")),
        h("th", { scope: "col", class: "number" }, t("sup.overdue")),
      ),
    ),
    h(
      "tbody",
      {},
      crews.map((row) => {
        const text = t("sup.load_text", { workload: row.workload, capacity: row.capacity, ratio: percent(row.load_ratio) });
        const meterId = `load-${row.crew.code}`;
        return h(
          "tr",
          { dataset: { crew: row.crew.code } },
          h("th", { scope: "row", id: `crew-${row.crew.code}` }, row.crew.name, row.active ? null : h("span", { class: "badge supervision-inactive" }, t("sup.inactive"))),
          h("td", {}, named(row.desk)),
          h(
            "td",
            {},
            h(
              "div",
              { class: "supervision-load" },
              // The bar: a meter (its value is read out with the crew's name), the figure in words
              // beside it, and "over capacity" in words too: never colour alone.
              h("meter", {
                id: meterId,
                min: 0,
                max: row.capacity,
                value: Math.min(row.workload, row.capacity),
                "aria-labelledby": `crew-${row.crew.code}`,
                "aria-valuetext": text,
                class: row.over_capacity ? "load-meter load-meter--full" : "load-meter",
              }),
              h("span", { class: "load-text", dataset: { figure: "load" } }, text),
              row.over_capacity ? h("span", { class: "badge badge-overdue load-full" }, t("sup.over_capacity")) : null,
            ),
          ),
          h("td", { class: "number", dataset: { figure: "tickets" } }, formatNumber(row.tickets)),
          h("td", { class: "number", dataset: { figure: "overdue" } }, formatNumber(row.overdue)),
        );
      }),
    ),
  );
  panel.append(table);
}

// --- overdue reports and moving them to another desk ---------------------------------------

function deskNamed(code) {
  return named(state.desks.find((row) => row.desk.code === code)?.desk) || code;
}

async function loadOverdue(code, { keepFocus = false } = {}) {
  const current = state;
  current.overdueDesk = code;
  const panel = current.overduePanel;
  let items;
  try {
    items = (await current.ctx.api(`/v1/desks/${encodeURIComponent(code)}/queue`, { query: { overdue: "true", sort: "priority", limit: OVERDUE_PAGE } })).body.items;
  } catch (error) {
    if (state !== current) return;
    clear(panel);
    panel.hidden = false;
    panel.append(problemBox(error, t));
    return;
  }
  if (state !== current) return;
  const desk = deskNamed(code);
  const list = h(
    "div",
    { id: "overdue-list" },
    items.length
      ? h(
          "table",
          { class: "data-table", id: "overdue-reports" },
          h("caption", {}, t("sup.overdue_caption", { desk })),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, t("sup.reference")),
              h("th", { scope: "col" }, t("sup.category")),
              h("th", { scope: "col" }, t("sup.state")),
              h("th", { scope: "col" }, t("sup.due")),
              h("th", { scope: "col" }, t("sup.actions")),
            ),
          ),
          h(
            "tbody",
            {},
            items.map((item) =>
              h(
                "tr",
                { dataset: { reportId: item.id } },
                h("th", { scope: "row" }, h("a", { href: `#/queue/${encodeURIComponent(code)}/${item.id}` }, item.reference)),
                h("td", {}, named(item.category)),
                h("td", {}, h("span", { class: `badge status-${item.status}` }, t(`status.${item.status}`))),
                h("td", {}, formatDateTime(item.due_at)),
                h(
                  "td",
                  {},
                  h(
                    "button",
                    { type: "button", class: "button", dataset: { reroute: item.id }, onclick: () => rerouteForm(item, code, current.overduePanel.querySelector("#reroute-area")) },
                    t("sup.reroute", { reference: item.reference }),
                  ),
                ),
              ),
            ),
          ),
        )
      : h("p", {}, t("sup.overdue_none")),
  );
  // A refresh (the live stream) replaces the list only: a move being written stays open.
  const shown = panel.querySelector("#overdue-list");
  if (keepFocus && current.overdueShown === code && shown) {
    shown.replaceWith(list);
    return;
  }
  current.overdueShown = code;
  clear(panel);
  panel.hidden = false;
  const heading = h("h2", { id: "overdue-title", tabindex: "-1" }, t("sup.overdue_title", { desk }));
  panel.append(
    heading,
    list,
    h("div", { id: "reroute-area" }),
    h(
      "button",
      {
        type: "button",
        class: "button",
        id: "overdue-close",
        onclick: () => {
          current.overdueDesk = null;
          current.overdueShown = null;
          clear(panel);
          panel.hidden = true;
          current.desksPanel.querySelector(`[data-overdue-desk="${CSS.escape(code)}"]`)?.focus();
        },
      },
      t("sup.close"),
    ),
  );
  if (!keepFocus) heading.focus();
}

function rerouteForm(item, fromDesk, area) {
  clear(area);
  const select = h(
    "select",
    { id: "reroute-desk", required: true },
    state.desks.filter((row) => row.desk.code !== fromDesk).map((row) => h("option", { value: row.desk.code }, named(row.desk))),
  );
  const result = h("div", { id: "reroute-result" });
  const form = h(
    "form",
    {
      class: "action-form",
      id: "reroute-form",
      "aria-labelledby": "reroute-title",
      onsubmit: (event) => {
        event.preventDefault();
        reroute(item, select.value, item.version, result);
      },
    },
    h("h3", { id: "reroute-title" }, t("sup.reroute_title", { reference: item.reference })),
    h("div", { class: "field" }, h("label", { for: "reroute-desk" }, t("sup.reroute_desk")), select),
    result,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", class: "button button-primary", id: "reroute-submit" }, t("sup.reroute_submit")),
      h(
        "button",
        {
          type: "button",
          class: "button",
          onclick: () => {
            clear(area);
            state.overduePanel.querySelector(`[data-reroute="${item.id}"]`)?.focus();
          },
        },
        t("sup.cancel"),
      ),
    ),
  );
  area.append(form);
  select.focus();
}

async function reroute(item, desk, version, result) {
  const current = state;
  clear(result);
  try {
    await current.ctx.api(`/v1/reports/${item.id}/actions/reroute`, {
      method: "POST",
      body: { desk },
      ifMatch: etagOf(version),
      headers: { "Idempotency-Key": idempotencyKey() },
    });
  } catch (error) {
    if (state !== current) return;
    if (error instanceof ApiProblem && error.status === 412 && error.problem.current) {
      conflict(item, desk, error.problem.current, result);
    } else {
      result.append(problemBox(error, t));
      result.querySelector(".problem")?.setAttribute("tabindex", "-1");
      result.querySelector(".problem")?.focus();
    }
    return;
  }
  if (state !== current) return;
  const done = t("sup.rerouted", { reference: item.reference, desk: deskNamed(desk) });
  current.ctx.announce(done);
  await load();
  if (state !== current) return;
  const area = current.overduePanel.querySelector("#reroute-area");
  if (area) clear(area).append(h("p", { class: "supervision-done", role: "status", id: "reroute-done" }, done));
  current.overduePanel.querySelector("#overdue-title")?.focus();
}

function conflict(item, desk, report, result) {
  const box = h(
    "div",
    { class: "conflict", role: "alert", id: "reroute-conflict" },
    h("h4", {}, t("sup.conflict_title")),
    h(
      "p",
      {},
      t("sup.conflict_text", {
        reference: report.reference || item.reference,
        status: t(`status.${report.status}`),
        desk: named(report.desk) || report.desk?.code || t("sup.none"),
        version: report.version,
      }),
    ),
    h(
      "div",
      { class: "form-buttons" },
      h(
        "button",
        {
          type: "button",
          class: "button button-primary",
          id: "reroute-redo",
          onclick: () => reroute({ ...item, version: report.version }, desk, report.version, result),
        },
        t("sup.conflict_redo"),
      ),
    ),
  );
  result.append(box);
  box.querySelector("#reroute-redo").focus();
}

