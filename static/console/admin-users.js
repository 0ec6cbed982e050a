// Staff accounts (admins): who works in the control centre, with which role, desks and crew.
// Reads and writes go through /v1/admin/users (audited by the API); a person is added by their
// Firebase uid, changed with the same form, and removed (they become a resident again).

import { clear, confirmRemoval, h, problemBox } from "../common/dom.js";
import { addTexts, named, t } from "../common/i18n.js";

addTexts({
  fr: {
    "users.title": "Comptes du personnel",
    "users.caption": "Comptes du personnel, par identifiant",
    "users.uid": "Identifiant (uid Firebase)",
    "users.name": "Nom",
    "users.email": "Adresse électronique",
    "users.role": "Rôle",
    "users.desks": "Pôles",
    "users.desks_hint": "Agents et superviseurs : au moins un pôle.",
    "users.crew": "Équipe",
    "users.no_crew": "(aucune)",
    "users.active": "Compte actif",
    "users.state": "État",
    "users.state_active": "actif",
    "users.state_inactive": "suspendu",
    "users.actions": "Actions",
    "users.add": "Ajouter un compte",
    "users.edit": "Modifier {uid}",
    "users.edit_title": "Modifier le compte {uid}",
    "users.add_title": "Ajouter un compte",
    "users.save": "Enregistrer",
    "users.cancel": "Annuler",
    "users.remove": "Supprimer {uid}",
    "users.remove_confirm": "Supprimer le compte {uid} ? La personne redevient un simple habitant.",
    "users.remove_yes": "Confirmer la suppression",
    "users.saved": "Le compte {uid} a été enregistré.",
    "users.removed": "Le compte {uid} a été supprimé.",
    "users.none": "Aucun compte du personnel.",
    "users.filter_role": "Afficher le rôle",
    "users.all_roles": "Tous les rôles",
  },
  en: {
    "users.title": "Staff accounts",
    "users.caption": "Staff accounts, by uid",
    "users.uid": "Identifier (Firebase uid)",
    "users.name": "Name",
    "users.email": "E-mail address",
    "users.role": "Role",
    "users.desks": "Desks",
    "users.desks_hint": "Agents and supervisors: at least one desk.",
    "users.crew": "Crew",
    "users.no_crew": "(none)",
    "users.active": "Active account",
    "users.state": "State",
    "users.state_active": "active",
    "users.state_inactive": "suspended",
    "users.actions": "Actions",
    "users.add": "Add an account",
    "users.edit": "Edit {uid}",
    "users.edit_title": "Edit the account {uid}",
    "users.add_title": "Add an account",
    "users.save": "Save",
    "users.cancel": "Cancel",
    "users.remove": "Remove {uid}",
    "users.remove_confirm": "Remove the account {uid}? The person becomes a plain resident again.",
    "users.remove_yes": "Confirm the removal",
    "users.saved": "The account {uid} was saved.",
    "users.removed": "The account {uid} was removed.",
    "users.none": "No staff account.",
    "users.filter_role": "Show the role",
    "users.all_roles": "All roles",
  },
});

const ROLES = ["agent", "supervisor", "admin", "crew", "privacy_officer"];
const MAX_PAGES = 50;

let state = null;

export async function render(root, ctx) {
  state = { ctx, users: [], crews: [], role: "" };
  const problem = h("div", { id: "users-problem" });
  const formArea = h("div", { id: "user-form-area" });
  const listArea = h("div", { id: "users-list" });
  const filter = h("select", { id: "users-role" }, h("option", { value: "" }, t("users.all_roles")), ROLES.map((role) => h("option", { value: role }, t(`role.${role}`))));
  filter.addEventListener("change", () => {
    state.role = filter.value;
    load();
  });
  root.append(
    h(
      "div",
      { class: "admin" },
      h("h1", { id: "users-title", tabindex: "-1" }, t("users.title")),
      problem,
      h(
        "div",
        { class: "admin-toolbar" },
        h("div", { class: "field field--inline" }, h("label", { for: "users-role" }, t("users.filter_role")), filter),
        h("button", { type: "button", class: "button button-primary", id: "user-add", onclick: () => showForm(null) }, t("users.add")),
      ),
      formArea,
      listArea,
    ),
  );
  Object.assign(state, { problem, formArea, listArea });
  try {
    state.crews = (await ctx.api("/v1/crews")).body;
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
  const users = [];
  let cursor = null;
  try {
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const body = (await current.ctx.api("/v1/admin/users", { query: { limit: 100, cursor, role: current.role || null } })).body;
      users.push(...body.items);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
  } catch (error) {
    if (state !== current) return;
    clear(current.problem);
    current.problem.append(problemBox(error, t));
    return;
  }
  if (state !== current) return;
  clear(current.problem);
  current.users = users;
  renderList();
}

function crewName(code) {
  return state.crews.find((crew) => crew.code === code)?.name || code;
}

function renderList() {
  const area = state.listArea;
  clear(area);
  if (!state.users.length) {
    area.append(h("p", {}, t("users.none")));
    return;
  }
  area.append(
    h(
      "table",
      { class: "data-table admin-table", id: "users-table" },
      h("caption", {}, t("users.caption")),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["users.uid", "users.name", "users.role", "users.desks", "users.crew", "users.state", "users.actions"].map((key) => h("th", { scope: "col" }, t(key))),
        ),
      ),
      h(
        "tbody",
        {},
        state.users.map((user) =>
          h(
            "tr",
            { dataset: { uid: user.uid } },
            h("th", { scope: "row" }, h("code", {}, user.uid)),
            h("td", {}, [user.display_name, user.email].filter(Boolean).join(" · ")),
            h("td", { dataset: { field: "role" } }, t(`role.${user.role}`)),
            h("td", { dataset: { field: "desks" } }, (user.desks || []).map((code) => state.ctx.deskName(code)).join(", ")),
            h("td", { dataset: { field: "crew" } }, user.crew ? crewName(user.crew) : ""),
            h("td", {}, user.active === false ? t("users.state_inactive") : t("users.state_active")),
            h(
              "td",
              {},
              h(
                "div",
                { class: "admin-actions" },
                h("button", { type: "button", class: "button", dataset: { edit: user.uid }, onclick: () => showForm(user) }, t("users.edit", { uid: user.uid })),
                h("button", { type: "button", class: "button button-danger", dataset: { remove: user.uid }, onclick: () => confirmRemove(user) }, t("users.remove", { uid: user.uid })),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function showForm(user) {
  const area = state.formArea;
  clear(area);
  const editing = Boolean(user);
  const uid = h("input", { id: "user-uid", type: "text", required: true, maxlength: 128, autocomplete: "off", value: user?.uid || "", readonly: editing });
  const role = h("select", { id: "user-role" }, ROLES.map((r) => h("option", { value: r, selected: user?.role === r }, t(`role.${r}`))));
  const name = h("input", { id: "user-name", type: "text", maxlength: 200, value: user?.display_name || "" });
  const email = h("input", { id: "user-email", type: "email", maxlength: 320, value: user?.email || "" });
  const deskBoxes = state.ctx.desks.map((desk) =>
    h(
      "div",
      { class: "field field--inline" },
      h("input", { type: "checkbox", id: `user-desk-${desk.code}`, value: desk.code, checked: (user?.desks || []).includes(desk.code), dataset: { desk: desk.code } }),
      h("label", { for: `user-desk-${desk.code}` }, named(desk)),
    ),
  );
  const desks = h("fieldset", { class: "admin-choices", id: "user-desks" }, h("legend", {}, t("users.desks")), h("p", { class: "hint" }, t("users.desks_hint")), deskBoxes);
  const crew = h(
    "select",
    { id: "user-crew" },
    h("option", { value: "" }, t("users.no_crew")),
    state.crews.map((c) => h("option", { value: c.code, selected: user?.crew === c.code }, `${c.name} (${state.ctx.deskName(c.desk)})`)),
  );
  const crewField = h("div", { class: "field" }, h("label", { for: "user-crew" }, t("users.crew")), crew);
  const active = h("input", { type: "checkbox", id: "user-active", checked: user ? user.active !== false : true });
  const result = h("div", { id: "user-form-result" });
  const title = editing ? t("users.edit_title", { uid: user.uid }) : t("users.add_title");

  // Desks are for agents and supervisors, a crew for crew members: the others are hidden.
  const fit = () => {
    desks.hidden = !["agent", "supervisor"].includes(role.value);
    crewField.hidden = role.value !== "crew";
  };
  role.addEventListener("change", fit);
  fit();

  const form = h(
    "form",
    {
      class: "panel admin-form",
      id: "user-form",
      "aria-labelledby": "user-form-title",
      onsubmit: async (event) => {
        event.preventDefault();
        clear(result);
        const body = {
          role: role.value,
          display_name: name.value.trim() || null,
          email: email.value.trim() || null,
          desks: desks.hidden ? [] : deskBoxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => box.value),
          crew: crewField.hidden ? null : crew.value || null,
          active: active.checked,
        };
        const id = uid.value.trim();
        try {
          await state.ctx.api(`/v1/admin/users/${encodeURIComponent(id)}`, { method: "PUT", body });
        } catch (error) {
          result.append(problemBox(error, t));
          result.querySelector(".problem")?.setAttribute("tabindex", "-1");
          result.querySelector(".problem")?.focus();
          return;
        }
        const done = t("users.saved", { uid: id });
        state.ctx.announce(done);
        clear(area);
        area.append(h("p", { class: "admin-done", role: "status", id: "user-saved" }, done));
        await load();
        state?.listArea.querySelector(`[data-edit="${CSS.escape(id)}"]`)?.focus();
      },
    },
    h("h2", { id: "user-form-title" }, title),
    h("div", { class: "field" }, h("label", { for: "user-uid" }, t("users.uid")), uid),
    h("div", { class: "field" }, h("label", { for: "user-role" }, t("users.role")), role),
    h("div", { class: "field" }, h("label", { for: "user-name" }, t("users.name")), name),
    h("div", { class: "field" }, h("label", { for: "user-email" }, t("users.email")), email),
    desks,
    crewField,
    h("div", { class: "field field--inline" }, active, h("label", { for: "user-active" }, t("users.active"))),
    result,
    h(
      "div",
      { class: "form-buttons" },
      h("button", { type: "submit", class: "button button-primary", id: "user-save" }, t("users.save")),
      h(
        "button",
        {
          type: "button",
          class: "button",
          onclick: () => {
            clear(area);
            (editing ? state.listArea.querySelector(`[data-edit="${CSS.escape(user.uid)}"]`) : document.getElementById("user-add"))?.focus();
          },
        },
        t("users.cancel"),
      ),
    ),
  );
  area.append(form);
  (editing ? role : uid).focus();
}

function confirmRemove(user) {
  confirmRemoval(state.formArea, {
    id: "user-remove",
    question: t("users.remove_confirm", { uid: user.uid }),
    yes: t("users.remove_yes"),
    cancel: t("users.cancel"),
    remove: () => state.ctx.api(`/v1/admin/users/${encodeURIComponent(user.uid)}`, { method: "DELETE" }),
    done: t("users.removed", { uid: user.uid }),
    after: async () => {
      await load();
      document.getElementById("user-add")?.focus();
    },
    back: () => state.listArea.querySelector(`[data-remove="${CSS.escape(user.uid)}"]`),
    ctx: state.ctx,
    t,
  });
}
