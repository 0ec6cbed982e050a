// Routing rules (admins), in priority order: the first active rule matching a report's
// category, place, month and time of day sends it to its desk; else the fallback desk. Rules
// are added, edited and deleted through /v1/admin/routing-rules. A rule's zone is drawn
// elsewhere (the API or the CLI): this screen keeps it as it is and says whether there is one.

import { clear, confirmRemoval, h, problemBox } from "../common/dom.js";
import { addTexts, lang, named, t } from "../common/i18n.js";

addTexts({
  fr: {
    "rules.title": "Règles d’aiguillage",
    "rules.intro": "La première règle active (par priorité croissante) qui correspond au signalement choisit son pôle ; sinon, le pôle de repli.",
    "rules.caption": "Règles d’aiguillage, par ordre de priorité",
    "rules.priority": "Priorité",
    "rules.name": "Nom",
    "rules.category": "Catégorie",
    "rules.any_category": "Toutes catégories",
    "rules.desk": "Pôle",
    "rules.zone": "Zone",
    "rules.zone_yes": "zone définie",
    "rules.zone_no": "partout",
    "rules.zone_kept": "La zone de cette règle est conservée telle quelle.",
    "rules.months": "Mois",
    "rules.all_year": "toute l’année",
    "rules.months_hint": "Aucun mois coché : toute l’année.",
    "rules.hours": "Horaires",
    "rules.all_day": "toute la journée",
    "rules.starts_at": "Début (HH:MM, heure de Paris)",
    "rules.ends_at": "Fin (exclue ; avant le début : passe minuit)",
    "rules.active": "Règle active",
    "rules.state": "État",
    "rules.state_active": "active",
    "rules.state_inactive": "inactive",
    "rules.actions": "Actions",
    "rules.add": "Ajouter une règle",
    "rules.add_title": "Ajouter une règle",
    "rules.edit": "Modifier « {name} »",
    "rules.edit_title": "Modifier la règle « {name} »",
    "rules.delete": "Supprimer « {name} »",
    "rules.delete_confirm": "Supprimer la règle « {name} » ?",
    "rules.delete_yes": "Confirmer la suppression",
    "rules.save": "Enregistrer",
    "rules.cancel": "Annuler",
    "rules.saved": "La règle « {name} » a été enregistrée.",
    "rules.deleted": "La règle « {name} » a été supprimée.",
    "rules.none": "Aucune règle : tout va au pôle de repli.",
  },
  en: {
    "rules.title": "Routing rules",
    "rules.intro": "The first active rule (lowest priority first) matching a report chooses its desk; else the fallback desk.",
    "rules.caption": "Routing rules, in priority order",
    "rules.priority": "Priority",
    "rules.name": "Name",
    "rules.category": "Category",
    "rules.any_category": "Any category",
    "rules.desk": "Desk",
    "rules.zone": "Zone",
    "rules.zone_yes": "zone set",
    "rules.zone_no": "everywhere",
    "rules.zone_kept": "This rule's zone is kept as it is.",
    "rules.months": "Months",
    "rules.all_year": "all year",
    "rules.months_hint": "No month ticked: all year.",
    "rules.hours": "Hours",
    "rules.all_day": "all day",
    "rules.starts_at": "Start (HH:MM, Paris time)",
    "rules.ends_at": "End (excluded; before the start: wraps midnight)",
    "rules.active": "Active rule",
    "rules.state": "State",
    "rules.state_active": "active",
    "rules.state_inactive": "inactive",
    "rules.actions": "Actions",
    "rules.add": "Add a rule",
    "rules.add_title": "Add a rule",
    "rules.edit": "Edit “{name}”",
    "rules.edit_title": "Edit the rule “{name}”",
    "rules.delete": "Delete “{name}”",
    "rules.delete_confirm": "Delete the rule “{name}”?",
    "rules.delete_yes": "Confirm the deletion",
    "rules.save": "Save",
    "rules.cancel": "Cancel",
    "rules.saved": "The rule “{name}” was saved.",
    "rules.deleted": "The rule “{name}” was deleted.",
    "rules.none": "No rule: everything goes to the fallback desk.",
  },
});

let state = null;

export async function render(root, ctx) {
  state = { ctx, rules: [], categories: [] };
  const problem = h("div", { id: "rules-problem" });
  const formArea = h("div", { id: "rule-form-area" });
  const listArea = h("div", { id: "rules-list" });
  root.append(
    h(
      "div",
      { class: "admin" },
      h("h1", { id: "rules-title", tabindex: "-1" }, t("rules.title")),
      h("p", {}, t("rules.intro")),
      problem,
      h("div", { class: "admin-toolbar" }, h("button", { type: "button", class: "button button-primary", id: "rule-add", onclick: () => showForm(null) }, t("rules.add"))),
      formArea,
      listArea,
    ),
  );
  Object.assign(state, { problem, formArea, listArea });
  try {
    const catalogue = (await ctx.api("/v1/admin/categories")).body;
    state.categories = catalogue.groups.flatMap((group) => group.categories);
  } catch (error) {
    problem.append(problemBox(error, t));
  }
  await load();
}

export function dispose() {
  state = null;
}

async function load() {
  const current = state;
  let rules;
  try {
    rules = (await current.ctx.api("/v1/admin/routing-rules")).body;
  } catch (error) {
    if (state !== current) return;
    clear(current.problem);
    current.problem.append(problemBox(error, t));
    return;
  }
  if (state !== current) return;
  current.rules = rules.slice().sort((a, b) => a.priority - b.priority);
  renderList();
}

function monthName(month) {
  return new Intl.DateTimeFormat(lang() === "fr" ? "fr-FR" : "en-GB", { month: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2026, month - 1, 15)));
}

function categoryName(code) {
  if (!code) return t("rules.any_category");
  return named(state.categories.find((category) => category.code === code)) || code;
}

function renderList() {
  const area = state.listArea;
  clear(area);
  if (!state.rules.length) {
    area.append(h("p", {}, t("rules.none")));
    return;
  }
  area.append(
    h(
      "table",
      { class: "data-table admin-table", id: "rules-table" },
      h("caption", {}, t("rules.caption")),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["rules.priority", "rules.name", "rules.category", "rules.desk", "rules.zone", "rules.months", "rules.hours", "rules.state", "rules.actions"].map((key) =>
            h("th", { scope: "col" }, t(key)),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        state.rules.map((rule) =>
          h(
            "tr",
            { dataset: { ruleId: rule.id } },
            h("td", { class: "number" }, String(rule.priority)),
            h("th", { scope: "row" }, rule.name),
            h("td", {}, categoryName(rule.category)),
            h("td", {}, state.ctx.deskName(rule.desk)),
            h("td", {}, rule.zone ? t("rules.zone_yes") : t("rules.zone_no")),
            h("td", {}, rule.months ? rule.months.map(monthName).join(", ") : t("rules.all_year")),
            h("td", {}, rule.starts_at ? `${rule.starts_at}–${rule.ends_at}` : t("rules.all_day")),
            h("td", {}, rule.active ? t("rules.state_active") : t("rules.state_inactive")),
            h(
              "td",
              {},
              h(
                "div",
                { class: "admin-actions" },
                h("button", { type: "button", class: "button", dataset: { edit: rule.id }, onclick: () => showForm(rule) }, t("rules.edit", { name: rule.name })),
                h("button", { type: "button", class: "button button-danger", dataset: { remove: rule.id }, onclick: () => confirmDelete(rule) }, t("rules.delete", { name: rule.name })),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function nextPriority() {
  return state.rules.reduce((top, rule) => Math.max(top, rule.priority), 0) + 10;
}

function showForm(rule) {
  const area = state.formArea;
  clear(area);
  const editing = Boolean(rule);
  const name = h("input", { id: "rule-name", type: "text", required: true, maxlength: 120, value: rule?.name || "" });
  const priority = h("input", { id: "rule-priority", type: "number", required: true, min: 0, max: 1000000, step: 1, value: rule ? rule.priority : nextPriority() });
  const category = h(
    "select",
    { id: "rule-category" },
    h("option", { value: "" }, t("rules.any_category")),
    state.categories.map((c) => h("option", { value: c.code, selected: rule?.category === c.code }, named(c))),
  );
  const desk = h("select", { id: "rule-desk", required: true }, state.ctx.desks.map((d) => h("option", { value: d.code, selected: rule?.desk === d.code }, named(d))));
  const monthBoxes = Array.from({ length: 12 }, (_, i) => i + 1).map((month) =>
    h(
      "div",
      { class: "field field--inline" },
      h("input", { type: "checkbox", id: `rule-month-${month}`, value: month, checked: (rule?.months || []).includes(month) }),
      h("label", { for: `rule-month-${month}` }, monthName(month)),
    ),
  );
  const months = h("fieldset", { class: "admin-choices admin-months", id: "rule-months" }, h("legend", {}, t("rules.months")), h("p", { class: "hint" }, t("rules.months_hint")), monthBoxes);
  const startsAt = h("input", { id: "rule-starts-at", type: "time", value: rule?.starts_at || "" });
  const endsAt = h("input", { id: "rule-ends-at", type: "time", value: rule?.ends_at || "" });
  const active = h("input", { type: "checkbox", id: "rule-active", checked: rule ? rule.active : true });
  const result = h("div", { id: "rule-form-result" });

  const form = h(
    "form",
    {
      class: "panel admin-form",
      id: "rule-form",
      "aria-labelledby": "rule-form-title",
      onsubmit: async (event) => {
        event.preventDefault();
        clear(result);
        const chosen = monthBoxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => Number(box.value));
        const body = {
          name: name.value.trim(),
          priority: Number(priority.value),
          category: category.value || null,
          desk: desk.value,
          zone: rule?.zone ?? null,
          months: chosen.length ? chosen : null,
          starts_at: startsAt.value || null,
          ends_at: endsAt.value || null,
          active: active.checked,
        };
        try {
          if (editing) await state.ctx.api(`/v1/admin/routing-rules/${rule.id}`, { method: "PUT", body });
          else await state.ctx.api("/v1/admin/routing-rules", { method: "POST", body });
        } catch (error) {
          result.append(problemBox(error, t));
          result.querySelector(".problem")?.setAttribute("tabindex", "-1");
          result.querySelector(".problem")?.focus();
          return;
        }
        const done = t("rules.saved", { name: body.name });
        state.ctx.announce(done);
        clear(area);
        area.append(h("p", { class: "admin-done", role: "status", id: "rule-saved" }, done));
        await load();
        document.getElementById("rule-add")?.focus();
      },
    },
    h("h2", { id: "rule-form-title" }, editing ? t("rules.edit_title", { name: rule.name }) : t("rules.add_title")),
    h("div", { class: "field" }, h("label", { for: "rule-name" }, t("rules.name")), name),
    h("div", { class: "field" }, h("label", { for: "rule-priority" }, t("rules.priority")), priority),
    h("div", { class: "field" }, h("label", { for: "rule-category" }, t("rules.category")), category),
    h("div", { class: "field" }, h("label", { for: "rule-desk" }, t("rules.desk")), desk),
    editing && rule.zone ? h("p", { class: "hint" }, t("rules.zone_kept")) : null,
    months,
    h("div", { class: "field" }, h("label", { for: "rule-starts-at" }, t("rules.starts_at")), startsAt),
    h("div", { class: "field" }, h("label", { for: "rule-ends-at" }, t("rules.ends_at")), endsAt),
    h("div", { class: "field field--inline" }, active, h("label", { for: "rule-active" }, t("rules.active"))),
    result,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", class: "button button-primary", id: "rule-save" }, t("rules.save")),
      h(
        "button",
        {
          type: "button",
          class: "button",
          onclick: () => {
            clear(area);
            (editing ? state.listArea.querySelector(`[data-edit="${rule.id}"]`) : document.getElementById("rule-add"))?.focus();
          },
        },
        t("rules.cancel"),
      ),
    ),
  );
  area.append(form);
  name.focus();
}

function confirmDelete(rule) {
  confirmRemoval(state.formArea, {
    id: "rule-delete",
    question: t("rules.delete_confirm", { name: rule.name }),
    yes: t("rules.delete_yes"),
    cancel: t("rules.cancel"),
    remove: () => state.ctx.api(`/v1/admin/routing-rules/${rule.id}`, { method: "DELETE" }),
    done: t("rules.deleted", { name: rule.name }),
    after: async () => {
      await load();
      document.getElementById("rule-add")?.focus();
    },
    back: () => state.listArea.querySelector(`[data-remove="${rule.id}"]`),
    ctx: state.ctx,
    t,
  });
}
