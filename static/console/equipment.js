// The equipment screen (#/equipment[/<reference>]): the map's equipment layer by live state,
// an asset opened by a click on the map or from the keyboard (its reference, or the list of
// the equipment in view), its state, command history and open tickets, and the commands the
// caller may send (GET /v1/equipment-commands/options: agents of the desk that runs the
// kind, supervisors), each with a reason; a traffic-signal command waits for a supervisor's
// confirmation, given here. A selection command (the lights of a street, or of a zone drawn
// on the map) is counted first (preview) and sent once confirmed. Progress comes live: the
// stream's `command` events update the history, the selection's counts and the map.

import { append, clear, h, idempotencyKey, problemBox } from "../common/dom.js";
import { addTexts, formatDateTime, named, t } from "../common/i18n.js";
import { createMap } from "./map.js";
import { kindText, stateOf, stateText } from "./equipment-state.js";

addTexts({
  fr: {
    "equipment.title": "Équipements",
    "equipment.find": "Ouvrir un équipement par sa référence",
    "equipment.find_label": "Référence",
    "equipment.find_button": "Ouvrir",
    "equipment.in_view": "Équipements visibles sur la carte ({count})",
    "equipment.in_view_none": "Zoomez sur la carte pour lister les équipements.",
    "equipment.open": "Ouvrir {reference}",
    "equipment.close": "Fermer",
    "equipment.map": "Carte des équipements et de leur état",
    "asset.state": "État",
    "asset.observed": "Observé le",
    "asset.stale": "Donnée périmée : l’équipement n’a rien rapporté récemment.",
    "asset.fresh": "à jour",
    "asset.freshness": "Fraîcheur",
    "asset.last_fault": "Dernier défaut",
    "asset.feed": "Flux",
    "asset.no_feed": "Aucun flux ne rapporte cet équipement : il ne peut pas recevoir de commande.",
    "asset.commands": "Commander",
    "asset.command": "Commande",
    "asset.level": "Intensité (%)",
    "asset.reason": "Motif (obligatoire, conservé dans le journal)",
    "asset.send": "Envoyer la commande",
    "asset.two_person": "confirmation d’un superviseur requise",
    "asset.no_commands": "Vous pouvez consulter cet équipement mais pas le commander : seuls les agents du pôle qui le gère et les superviseurs le peuvent.",
    "asset.sent": "Commande « {command} » acceptée : {state}.",
    "asset.history": "Historique des commandes",
    "asset.history_none": "Aucune commande pour cet équipement.",
    "asset.by": "par",
    "asset.decided_by": "décidée par",
    "asset.reason_short": "Motif",
    "asset.confirm": "Confirmer",
    "asset.reject": "Refuser",
    "asset.cancel": "Annuler",
    "asset.confirm_label": "Confirmer la commande {command} de {by}",
    "asset.reject_label": "Refuser la commande {command} de {by}",
    "asset.cancel_label": "Annuler la commande {command}",
    "asset.done_confirm": "Vous avez confirmé la commande : {state}.",
    "asset.done_reject": "Vous avez refusé la commande.",
    "asset.done_cancel": "Vous avez annulé la commande.",
    "asset.tickets": "Tickets ouverts",
    "asset.tickets_none": "Aucun ticket ouvert sur cet équipement.",
    "asset.not_found": "Aucun équipement n’a la référence {reference}.",
    "command.switch_on": "Allumer",
    "command.switch_off": "Éteindre",
    "command.dim": "Régler l’intensité",
    "command.schedule": "Revenir à la programmation",
    "command.flashing_amber": "Passer en orange clignotant",
    "command.normal": "Revenir au fonctionnement normal",
    "cstate.pending_confirmation": "en attente de confirmation",
    "cstate.queued": "en file d’envoi",
    "cstate.sent": "envoyée",
    "cstate.confirmed": "confirmée par l’équipement",
    "cstate.failed": "échouée",
    "cstate.expired": "expirée",
    "cstate.superseded": "remplacée par une plus récente",
    "cstate.cancelled": "annulée",
    "cstate.rejected": "refusée",
    "selection.title": "Commande groupée",
    "selection.intro": "Les lampadaires d’une voie ou d’une zone dessinée sur la carte : le nombre d’équipements visés est affiché avant l’envoi.",
    "selection.target": "Équipements visés",
    "selection.street": "Ceux d’une voie (par son nom)",
    "selection.polygon": "Ceux d’une zone dessinée sur la carte",
    "selection.street_name": "Nom de la voie",
    "selection.draw": "Dessiner la zone",
    "selection.drawing": "Cliquez sur la carte pour placer les sommets de la zone ({count} placé(s)), puis « Terminer la zone ».",
    "selection.finish": "Terminer la zone",
    "selection.clear": "Effacer la zone",
    "selection.drawn": "Zone de {count} sommets dessinée.",
    "selection.no_polygon": "Dessinez d’abord une zone d’au moins 3 sommets sur la carte, ou choisissez une voie.",
    "selection.count": "Compter les équipements visés",
    "selection.confirm_question": "« {command} » sur {count} équipement(s) ({kind}) ?",
    "selection.skipped": "{count} ignoré(s) (sans flux ou inconnus) : {references}",
    "selection.two_person": "Chaque commande attendra la confirmation d’un superviseur.",
    "selection.send": "Envoyer à {count} équipement(s)",
    "selection.cancel": "Ne pas envoyer",
    "selection.progress": "Commande groupée « {command} » : {count} équipement(s)",
    "selection.none": "Aucune commande groupée ne vous est permise.",
  },
  en: {
    "equipment.title": "Equipment",
    "equipment.find": "Open a piece of equipment by its reference",
    "equipment.find_label": "Reference",
    "equipment.find_button": "Open",
    "equipment.in_view": "Equipment shown on the map ({count})",
    "equipment.in_view_none": "Zoom in on the map to list the equipment.",
    "equipment.open": "Open {reference}",
    "equipment.close": "Close",
    "equipment.map": "Map of the equipment and its state",
    "asset.state": "State",
    "asset.observed": "Observed",
    "asset.stale": "Stale data: the equipment has reported nothing recently.",
    "asset.fresh": "up to date",
    "asset.freshness": "Freshness",
    "asset.last_fault": "Last fault",
    "asset.feed": "Feed",
    "asset.no_feed": "No feed reports this equipment: it cannot receive a command.",
    "asset.commands": "Command",
    "asset.command": "Command",
    "asset.level": "Level (%)",
    "asset.reason": "Reason (required, kept in the audit trail)",
    "asset.send": "Send the command",
    "asset.two_person": "needs a supervisor's confirmation",
    "asset.no_commands": "You may look at this equipment but not command it: only the agents of the desk that runs it and supervisors may.",
    "asset.sent": "Command “{command}” accepted: {state}.",
    "asset.history": "Command history",
    "asset.history_none": "No command for this equipment.",
    "asset.by": "by",
    "asset.decided_by": "decided by",
    "asset.reason_short": "Reason",
    "asset.confirm": "Confirm",
    "asset.reject": "Reject",
    "asset.cancel": "Cancel",
    "asset.confirm_label": "Confirm the command {command} by {by}",
    "asset.reject_label": "Reject the command {command} by {by}",
    "asset.cancel_label": "Cancel the command {command}",
    "asset.done_confirm": "You confirmed the command: {state}.",
    "asset.done_reject": "You rejected the command.",
    "asset.done_cancel": "You cancelled the command.",
    "asset.tickets": "Open tickets",
    "asset.tickets_none": "No open ticket on this equipment.",
    "asset.not_found": "No equipment has the reference {reference}.",
    "command.switch_on": "Switch on",
    "command.switch_off": "Switch off",
    "command.dim": "Set the level",
    "command.schedule": "Back to its schedule",
    "command.flashing_amber": "Flashing amber",
    "command.normal": "Back to normal",
    "cstate.pending_confirmation": "pending confirmation",
    "cstate.queued": "queued",
    "cstate.sent": "sent",
    "cstate.confirmed": "confirmed by the equipment",
    "cstate.failed": "failed",
    "cstate.expired": "expired",
    "cstate.superseded": "superseded by a newer one",
    "cstate.cancelled": "cancelled",
    "cstate.rejected": "rejected",
    "selection.title": "Selection command",
    "selection.intro": "The street lights of a street or of a zone drawn on the map: the number of targeted pieces of equipment is shown before sending.",
    "selection.target": "Targeted equipment",
    "selection.street": "Along a street (by its name)",
    "selection.polygon": "In a zone drawn on the map",
    "selection.street_name": "Street name",
    "selection.draw": "Draw the zone",
    "selection.drawing": "Click the map to place the zone's corners ({count} placed), then “Finish the zone”.",
    "selection.finish": "Finish the zone",
    "selection.clear": "Clear the zone",
    "selection.drawn": "Zone of {count} corners drawn.",
    "selection.no_polygon": "First draw a zone of at least 3 corners on the map, or choose a street.",
    "selection.count": "Count the targeted equipment",
    "selection.confirm_question": "“{command}” on {count} piece(s) of equipment ({kind})?",
    "selection.skipped": "{count} skipped (no feed or unknown): {references}",
    "selection.two_person": "Each command will wait for a supervisor's confirmation.",
    "selection.send": "Send to {count} piece(s) of equipment",
    "selection.cancel": "Do not send",
    "selection.progress": "Selection command “{command}”: {count} piece(s) of equipment",
    "selection.none": "No selection command is open to you.",
  },
});

const STATES = ["pending_confirmation", "queued", "sent", "confirmed", "failed", "expired", "superseded", "cancelled", "rejected"];
const UNSENT = ["pending_confirmation", "queued"];
const CENTRE = [47.3215, 5.0405];

let state = null;

export async function render(root, ctx) {
  state = { ctx, reference: null, kindOptions: { commands: [], confirms: false }, asset: null, tracked: null, drawing: null, reload: null, panelLoad: 0 };
  const title = h("h1", { id: "equipment-title", class: "queue-title", tabindex: "-1" }, t("equipment.title"));
  const findInput = h("input", { type: "text", id: "equipment-find", required: true, maxlength: 64, autocomplete: "off", spellcheck: "false" });
  const find = h(
    "form",
    {
      class: "equipment-find",
      "aria-label": t("equipment.find"),
      onsubmit: (event) => {
        event.preventDefault();
        const reference = findInput.value.trim();
        if (reference) ctx.navigate(`#/equipment/${encodeURIComponent(reference)}`);
      },
    },
    h("div", { class: "field" }, h("label", { for: "equipment-find" }, t("equipment.find")), findInput),
    h("button", { type: "submit", class: "button button-primary", id: "equipment-find-button" }, t("equipment.find_button")),
  );
  const selection = h("section", { class: "panel equipment-selection", id: "selection", "aria-labelledby": "selection-title" });
  const listTitle = h("h2", { id: "equipment-list-title", class: "equipment-subtitle" }, t("equipment.in_view", { count: 0 }));
  const list = h("ul", { class: "equipment-list", id: "equipment-list", "aria-labelledby": "equipment-list-title" });
  const listEmpty = h("p", { id: "equipment-list-empty", class: "muted" }, t("equipment.in_view_none"));
  const mapElement = h("div", { class: "console-map", id: "equipment-map" });
  const panel = h("section", { class: "asset-pane", id: "asset-pane", "aria-labelledby": "asset-title", hidden: true });
  const layout = h(
    "div",
    { class: "equipment-view", id: "equipment-view" },
    h("section", { class: "queue-pane equipment-side", "aria-labelledby": "equipment-title" }, title, find, selection, h("section", { "aria-labelledby": "equipment-list-title" }, listTitle, listEmpty, list)),
    h("div", { class: "map-pane" }, mapElement),
    panel,
  );
  root.append(layout);
  Object.assign(state, { panel, layout, list, listTitle, listEmpty, selection, findInput });
  state.map = createMap(mapElement, {
    tileUrl: ctx.config.tile_url,
    legend: ["equipment"],
    center: CENTRE,
    zoom: 17,
    onAsset: (reference) => {
      if (!state.drawing?.active) ctx.navigate(`#/equipment/${encodeURIComponent(reference)}`);
    },
    onAssets: (items) => showList(items),
  });
  mapElement.setAttribute("aria-label", t("equipment.map"));
  state.map.map.on("click", (event) => addCorner(event.latlng));

  state.onCommand = (event) => commandChanged(event.detail || {});
  state.onResync = () => refreshAll();
  ctx.events.addEventListener("command", state.onCommand);
  ctx.events.addEventListener("resync", state.onResync);
  state.onKey = (event) => {
    if (event.key === "Escape" && state?.reference && !event.defaultPrevented && !event.target.closest?.("dialog")) ctx.navigate("#/equipment");
  };
  document.addEventListener("keydown", state.onKey);

  try {
    state.kindOptions = (await ctx.api("/v1/equipment-commands/options")).body;
  } catch (error) {
    state.kindOptions = { commands: [], confirms: false };
  }
  renderSelection();
  await update(ctx.params);
  if (!ctx.params.reference) title.focus();
}

export function update(params) {
  if (!state) return false;
  const reference = params.reference || null;
  if (reference !== state.reference) state.notice = null;
  state.reference = reference;
  state.map.selectAsset(reference);
  if (!reference) {
    state.panel.hidden = true;
    state.layout.classList.remove("equipment-view--asset");
    state.map.invalidate();
    return true;
  }
  state.panel.hidden = false;
  state.layout.classList.add("equipment-view--asset");
  state.map.invalidate();
  openAsset(reference, { focus: true });
  return true;
}

export function dispose() {
  if (!state) return;
  state.ctx.events.removeEventListener("command", state.onCommand);
  state.ctx.events.removeEventListener("resync", state.onResync);
  document.removeEventListener("keydown", state.onKey);
  clearTimeout(state.reload);
  state.map.destroy();
  state = null;
}

// --- the list of the equipment in view (the keyboard's way to the map's markers) ------------

function showList(items) {
  if (!state) return;
  clear(state.list);
  state.listTitle.textContent = t("equipment.in_view", { count: items.length });
  state.listEmpty.hidden = items.length > 0;
  for (const asset of items) {
    state.list.append(
      h(
        "li",
        {},
        h(
          "a",
          {
            href: `#/equipment/${encodeURIComponent(asset.reference)}`,
            class: `equipment-item${asset.reference === state.reference ? " equipment-item--selected" : ""}`,
            "data-reference": asset.reference,
            "data-state": stateOf(asset),
            "aria-current": asset.reference === state.reference ? "true" : null,
          },
          h("span", { class: `map-legend__swatch map-legend__asset asset-state--${stateOf(asset)}${asset.live?.stale ? " asset-marker--stale" : ""}`, "aria-hidden": "true" }),
          h("strong", {}, asset.reference),
          ` — ${kindText(asset.kind)} — `,
          h("span", { class: "equipment-item__state" }, stateText(asset)),
          asset.live?.stale ? ` (${t("live.stale")})` : "",
        ),
      ),
    );
  }
}

// --- one asset: state, commands, history, tickets ----------------------------------------

async function openAsset(reference, { focus = false } = {}) {
  const { ctx, panel } = state;
  const mine = ++state.panelLoad;
  const path = `/v1/assets/${encodeURIComponent(reference)}`;
  let asset;
  let options;
  let history;
  let tickets;
  try {
    [asset, options, history, tickets] = await Promise.all([
      ctx.api(path).then((r) => r.body),
      ctx.api("/v1/equipment-commands/options", { query: { asset: reference } }).then((r) => r.body),
      ctx.api(`${path}/commands`, { query: { limit: 20 } }).then((r) => r.body),
      ctx.api(`${path}/tickets`).then((r) => r.body),
    ]);
  } catch (error) {
    if (!state || mine !== state.panelLoad) return;
    clear(panel);
    panel.append(
      h("h2", { id: "asset-title", tabindex: "-1" }, reference),
      closeButton(),
      error.status === 404 ? h("p", { class: "problem", role: "alert" }, t("asset.not_found", { reference })) : problemBox(error, t),
    );
    if (focus) panel.querySelector("#asset-title").focus();
    return;
  }
  if (!state || mine !== state.panelLoad || state.reference !== reference) return;
  state.asset = asset;
  const keep = panel.querySelector("#command-reason")?.value;
  const active = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.id : null;
  clear(panel);
  panel.dataset.reference = reference;
  append(panel, [
    h("div", { class: "asset-head" }, h("h2", { id: "asset-title", tabindex: "-1" }, `${kindText(asset.kind)} ${asset.reference}`), closeButton()),
    asset.name ? h("p", { class: "muted" }, asset.name) : null,
    liveBlock(asset),
    commandsBlock(asset, options),
    h("div", { id: "asset-result", role: "status" }),
    historyBlock(history.items, options),
    ticketsBlock(tickets.items),
  ]);
  if (keep && panel.querySelector("#command-reason")) panel.querySelector("#command-reason").value = keep;
  // What the person just did stays said while live events redraw the panel.
  if (state.notice?.reference === reference) panel.querySelector("#asset-result").append(h("p", { class: "admin-done" }, state.notice.text));
  if (focus) panel.querySelector("#asset-title").focus();
  else if (active && document.getElementById(active)) document.getElementById(active).focus();
}

function closeButton() {
  return h("button", { type: "button", class: "button", id: "asset-close", onclick: () => state.ctx.navigate("#/equipment") }, t("equipment.close"));
}

function liveBlock(asset) {
  const live = asset.live;
  if (!live) return h("p", { class: "problem", id: "asset-live", "data-state": "unknown" }, t("asset.no_feed"));
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "asset-live", id: "asset-live", "data-state": stateOf(asset), "data-stale": String(live.stale) },
      row(t("asset.state"), h("span", { class: `map-legend__swatch map-legend__asset asset-state--${stateOf(asset)}`, "aria-hidden": "true" }), h("strong", { id: "asset-state" }, stateText(asset))),
      row(t("asset.observed"), h("span", { id: "asset-observed" }, formatDateTime(live.observed_at))),
      row(t("asset.freshness"), live.stale ? h("span", { class: "asset-stale", id: "asset-stale" }, t("live.stale")) : t("asset.fresh")),
      live.last_fault ? row(t("asset.last_fault"), `${live.last_fault} (${formatDateTime(live.last_fault_at)})`) : null,
      row(t("asset.feed"), live.feed),
    ),
    live.stale ? h("p", { class: "asset-stale-note" }, t("asset.stale")) : null,
  );
}

function commandsBlock(asset, options) {
  const section = h("section", { class: "asset-commands", "aria-labelledby": "asset-commands-title" }, h("h3", { id: "asset-commands-title" }, t("asset.commands")));
  if (!options.commands.length) {
    section.append(h("p", { id: "asset-no-commands" }, t("asset.no_commands")));
    return section;
  }
  if (!options.connected) {
    section.append(h("p", { id: "asset-no-commands" }, t("asset.no_feed")));
    return section;
  }
  const result = h("div", { id: "command-problem" });
  const level = h("input", { type: "number", id: "command-level", min: 0, max: 100, step: 1, value: 50 });
  const levelField = h("div", { class: "field", hidden: true }, h("label", { for: "command-level" }, t("asset.level")), level);
  const reason = h("textarea", { id: "command-reason", required: true, minlength: 3, maxlength: 500, rows: 2 });
  const choices = options.commands.map((option, index) =>
    h(
      "div",
      { class: "field field--inline" },
      h("input", { type: "radio", name: "command", id: `command-${option.command}`, value: option.command, checked: index === 0, onchange: () => (levelField.hidden = !option.takes_level) }),
      h("label", { for: `command-${option.command}` }, t(`command.${option.command}`), option.needs_second_person ? h("span", { class: "muted" }, ` (${t("asset.two_person")})`) : ""),
    ),
  );
  levelField.hidden = !options.commands[0].takes_level;
  let key = null;
  const form = h(
    "form",
    {
      id: "command-form",
      onsubmit: async (event) => {
        event.preventDefault();
        clear(result);
        const chosen = form.querySelector('input[name="command"]:checked')?.value;
        const option = options.commands.find((o) => o.command === chosen);
        const body = { command: chosen, reason: reason.value.trim() };
        if (option?.takes_level) body.level = Number(level.value);
        key = key || idempotencyKey();
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        try {
          const answer = await state.ctx.api(`/v1/assets/${encodeURIComponent(asset.reference)}/commands`, { method: "POST", body, headers: { "Idempotency-Key": key } });
          key = null;
          reason.value = "";
          const text = t("asset.sent", { command: t(`command.${chosen}`), state: t(`cstate.${answer.body.state}`) });
          state.ctx.announce(text);
          state.notice = { reference: asset.reference, text };
          await openAsset(asset.reference);
        } catch (error) {
          if (error.status && error.status < 500) key = null;
          result.append(problemBox(error, t));
        } finally {
          button.disabled = false;
        }
      },
    },
    h("fieldset", { class: "command-choices" }, h("legend", {}, t("asset.command")), choices),
    levelField,
    h("div", { class: "field" }, h("label", { for: "command-reason" }, t("asset.reason")), reason),
    h("button", { type: "submit", class: "button button-primary", id: "command-send" }, t("asset.send")),
    result,
  );
  section.append(form);
  return section;
}

function historyBlock(items, options) {
  const me = state.ctx.me;
  const section = h("section", { class: "asset-history", "aria-labelledby": "asset-history-title" }, h("h3", { id: "asset-history-title" }, t("asset.history")));
  if (!items.length) {
    section.append(h("p", { id: "asset-history-none" }, t("asset.history_none")));
    return section;
  }
  const rows = items.map((command) => {
    const name = t(`command.${command.command}`) + (command.level !== null && command.level !== undefined ? ` (${command.level} %)` : "");
    const actions = [];
    if (command.state === "pending_confirmation" && options.confirms && command.requested_by !== me.uid) {
      actions.push(decisionButton(command, "confirm", name), decisionButton(command, "reject", name));
    }
    if (UNSENT.includes(command.state) && (command.requested_by === me.uid || me.role === "supervisor")) actions.push(decisionButton(command, "cancel", name));
    return h(
      "li",
      { class: "command-entry", "data-command-id": command.id, "data-state": command.state },
      h(
        "p",
        { class: "command-entry__head" },
        h("strong", {}, name),
        " — ",
        h("span", { class: `command-state command-state--${command.state}`, "data-field": "state" }, t(`cstate.${command.state}`), command.last_error ? ` (${command.last_error})` : ""),
      ),
      h("p", { class: "command-entry__meta" }, `${formatDateTime(command.created_at)} · ${t("asset.by")} ${command.requested_by}`, command.decided_by ? ` · ${t("asset.decided_by")} ${command.decided_by}` : ""),
      h("p", { class: "command-entry__reason" }, `${t("asset.reason_short")} : ${command.reason}`),
      actions.length ? h("div", { class: "button-row command-actions" }, actions) : null,
    );
  });
  section.append(h("ol", { class: "command-history", id: "asset-history", "aria-labelledby": "asset-history-title" }, rows));
  return section;
}

function decisionButton(command, decision, name) {
  return h(
    "button",
    {
      type: "button",
      class: `button${decision === "confirm" ? " button-primary" : decision === "reject" ? " button-danger" : ""}`,
      "data-decision": decision,
      "aria-label": t(`asset.${decision}_label`, { command: name, by: command.requested_by }),
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        const result = document.getElementById("asset-result");
        clear(result);
        try {
          const answer = await state.ctx.api(`/v1/equipment-commands/${command.id}/${decision}`, { method: "POST", body: {} });
          const text = t(`asset.done_${decision}`, { state: t(`cstate.${answer.body.state}`) });
          state.ctx.announce(text);
          state.notice = { reference: command.asset, text };
          await openAsset(command.asset);
          document.getElementById("asset-history-title")?.setAttribute("tabindex", "-1");
          document.getElementById("asset-history-title")?.focus();
        } catch (error) {
          button.disabled = false;
          result.append(problemBox(error, t));
        }
      },
    },
    t(`asset.${decision}`),
  );
}

function ticketsBlock(items) {
  const section = h("section", { class: "asset-tickets", "aria-labelledby": "asset-tickets-title" }, h("h3", { id: "asset-tickets-title" }, t("asset.tickets")));
  if (!items.length) {
    section.append(h("p", { id: "asset-tickets-none" }, t("asset.tickets_none")));
    return section;
  }
  section.append(
    h(
      "ul",
      { id: "asset-tickets" },
      items.map((ticket) =>
        h(
          "li",
          {},
          ticket.desk ? h("a", { href: `#/queue/${encodeURIComponent(ticket.desk)}/${ticket.id}` }, ticket.reference || `#${ticket.id}`) : ticket.reference || `#${ticket.id}`,
          ` — ${named({ name_fr: ticket.category_name_fr, name_en: ticket.category_name_en })} — ${t(`status.${ticket.status}`)} — ${formatDateTime(ticket.created_at)}`,
        ),
      ),
    ),
  );
  return section;
}

// --- a selection: a street or a drawn zone, counted, confirmed, then followed live ----------

function renderSelection() {
  const section = state.selection;
  clear(section);
  section.append(h("h2", { id: "selection-title", class: "equipment-subtitle" }, t("selection.title")));
  const offered = state.kindOptions.commands.filter((option) => option.kind === "street_light" || option.kind === "traffic_signal");
  if (!offered.length) {
    section.append(h("p", { id: "selection-none" }, t("selection.none")));
    return;
  }
  const command = h(
    "select",
    { id: "selection-command" },
    offered.map((option) => h("option", { value: option.command }, `${t(`command.${option.command}`)} — ${kindText(option.kind)}`)),
  );
  const level = h("input", { type: "number", id: "selection-level", min: 0, max: 100, step: 1, value: 50 });
  const levelField = h("div", { class: "field", hidden: true }, h("label", { for: "selection-level" }, t("asset.level")), level);
  command.addEventListener("change", () => {
    levelField.hidden = !offered.find((o) => o.command === command.value)?.takes_level;
  });
  levelField.hidden = !offered[0].takes_level;
  const street = h("input", { type: "text", id: "selection-street", maxlength: 200, autocomplete: "off" });
  const byStreet = h("input", { type: "radio", name: "selection-target", id: "selection-by-street", value: "street", checked: true });
  const byPolygon = h("input", { type: "radio", name: "selection-target", id: "selection-by-polygon", value: "polygon" });
  const drawStatus = h("p", { id: "selection-draw-status", role: "status", class: "muted" });
  const draw = h("button", { type: "button", class: "button", id: "selection-draw", onclick: () => startDrawing(drawStatus) }, t("selection.draw"));
  const finish = h("button", { type: "button", class: "button", id: "selection-finish", onclick: () => finishDrawing(drawStatus) }, t("selection.finish"));
  const wipe = h("button", { type: "button", class: "button", id: "selection-clear", onclick: () => clearDrawing(drawStatus) }, t("selection.clear"));
  const streetField = h("div", { class: "field" }, h("label", { for: "selection-street" }, t("selection.street_name")), street);
  const polygonField = h("div", { class: "selection-polygon", hidden: true }, h("div", { class: "button-row" }, draw, finish, wipe), drawStatus);
  for (const radio of [byStreet, byPolygon]) {
    radio.addEventListener("change", () => {
      streetField.hidden = !byStreet.checked;
      polygonField.hidden = !byPolygon.checked;
      if (byPolygon.checked) draw.focus();
    });
  }
  const reason = h("textarea", { id: "selection-reason", required: true, minlength: 3, maxlength: 500, rows: 2 });
  const confirmArea = h("div", { id: "selection-confirm" });
  const progress = h("div", { id: "selection-progress", role: "status" });
  const form = h(
    "form",
    {
      id: "selection-form",
      onsubmit: async (event) => {
        event.preventDefault();
        clear(confirmArea);
        const option = offered.find((o) => o.command === command.value);
        const body = { command: command.value, reason: reason.value.trim() };
        if (option.takes_level) body.level = Number(level.value);
        if (byStreet.checked) {
          if (!street.value.trim()) {
            street.focus();
            street.reportValidity?.();
            return;
          }
          body.selection = { street: { name: street.value.trim() } };
        } else {
          const polygon = drawnPolygon();
          if (!polygon) {
            confirmArea.append(h("p", { class: "problem", role: "alert" }, t("selection.no_polygon")));
            return;
          }
          body.selection = { polygon };
        }
        let preview;
        try {
          preview = (await state.ctx.api("/v1/equipment-commands/selections/preview", { method: "POST", body })).body;
        } catch (error) {
          confirmArea.append(problemBox(error, t));
          return;
        }
        askToSend(confirmArea, progress, body, preview);
      },
    },
    h("p", { class: "muted" }, t("selection.intro")),
    h("div", { class: "field" }, h("label", { for: "selection-command" }, t("asset.command")), command),
    levelField,
    h(
      "fieldset",
      { class: "selection-target" },
      h("legend", {}, t("selection.target")),
      h("div", { class: "field field--inline" }, byStreet, h("label", { for: "selection-by-street" }, t("selection.street"))),
      h("div", { class: "field field--inline" }, byPolygon, h("label", { for: "selection-by-polygon" }, t("selection.polygon"))),
    ),
    streetField,
    polygonField,
    h("div", { class: "field" }, h("label", { for: "selection-reason" }, t("asset.reason")), reason),
    h("button", { type: "submit", class: "button button-primary", id: "selection-count" }, t("selection.count")),
  );
  section.append(form, confirmArea, progress);
  state.selectionParts = { progress };
}

function askToSend(area, progress, body, preview) {
  const key = idempotencyKey();
  const kind = kindText(preview.kind);
  const send = h(
    "button",
    {
      type: "button",
      class: "button button-primary",
      id: "selection-send",
      onclick: async () => {
        send.disabled = true;
        try {
          const answer = (await state.ctx.api("/v1/equipment-commands/selections", { method: "POST", body, headers: { "Idempotency-Key": key } })).body;
          clear(area);
          track(progress, answer);
          document.getElementById("selection-reason").value = "";
          progress.focus();
        } catch (error) {
          send.disabled = false;
          area.append(problemBox(error, t));
        }
      },
    },
    t("selection.send", { count: preview.count }),
  );
  const cancel = h(
    "button",
    {
      type: "button",
      class: "button",
      id: "selection-cancel",
      onclick: () => {
        clear(area);
        document.getElementById("selection-count")?.focus();
      },
    },
    t("selection.cancel"),
  );
  append(area, [
    h(
      "div",
      { class: "selection-question", role: "alert" },
      h("p", { id: "selection-question" }, h("strong", {}, t("selection.confirm_question", { command: t(`command.${preview.command}`), count: preview.count, kind }))),
      preview.skipped.length
        ? h("p", {}, t("selection.skipped", { count: preview.skipped.length, references: preview.skipped.slice(0, 5).map((s) => s.reference).join(", ") }))
        : null,
      preview.needs_second_person ? h("p", {}, t("selection.two_person")) : null,
      h("div", { class: "button-row" }, send, cancel),
    ),
  ]);
  send.focus();
}

function track(progress, answer) {
  state.tracked = { id: answer.selection_id, command: answer.command, states: new Map(answer.commands.map((c) => [c.id, c.state])) };
  progress.setAttribute("tabindex", "-1");
  showProgress();
}

function showProgress() {
  const progress = state.selectionParts?.progress;
  const tracked = state.tracked;
  if (!progress || !tracked) return;
  const counts = new Map();
  for (const value of tracked.states.values()) counts.set(value, (counts.get(value) || 0) + 1);
  clear(progress);
  progress.dataset.selection = tracked.id;
  progress.append(
    h("p", {}, h("strong", {}, t("selection.progress", { command: t(`command.${tracked.command}`), count: tracked.states.size }))),
    h(
      "ul",
      { class: "selection-counts" },
      STATES.filter((s) => counts.has(s)).map((s) => h("li", { "data-state": s, class: `command-state command-state--${s}` }, `${t(`cstate.${s}`)} : `, h("span", { class: "count" }, String(counts.get(s))))),
    ),
  );
}

// The zone: corners placed by clicks on the map while drawing, closed by "Finish".
function startDrawing(status) {
  clearDrawing(status);
  state.drawing = { active: true, points: [], line: L.polyline([], { className: "selection-outline", weight: 3 }).addTo(state.map.map), shape: null };
  state.map.map.getContainer().classList.add("map--picking");
  status.textContent = t("selection.drawing", { count: 0 });
}

function addCorner(latlng) {
  const drawing = state?.drawing;
  if (!drawing?.active) return;
  drawing.points.push(latlng);
  drawing.line.setLatLngs(drawing.points);
  const status = document.getElementById("selection-draw-status");
  if (status) status.textContent = t("selection.drawing", { count: drawing.points.length });
}

function finishDrawing(status) {
  const drawing = state.drawing;
  if (!drawing || drawing.points.length < 3) {
    status.textContent = t("selection.no_polygon");
    return;
  }
  drawing.active = false;
  drawing.line.remove();
  drawing.shape = L.polygon(drawing.points, { className: "selection-shape", weight: 2 }).addTo(state.map.map);
  state.map.map.getContainer().classList.remove("map--picking");
  status.textContent = t("selection.drawn", { count: drawing.points.length });
}

function clearDrawing(status) {
  const drawing = state.drawing;
  if (drawing) {
    drawing.line?.remove();
    drawing.shape?.remove();
  }
  state.drawing = null;
  state.map.map.getContainer().classList.remove("map--picking");
  if (status) status.textContent = "";
}

function drawnPolygon() {
  const drawing = state.drawing;
  if (!drawing?.shape) return null;
  const ring = drawing.points.map((p) => [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}

// --- live -----------------------------------------------------------------------------------

function commandChanged(detail) {
  if (!state) return;
  if (state.tracked && detail.selection === state.tracked.id && state.tracked.states.has(detail.id)) {
    state.tracked.states.set(detail.id, detail.state);
    showProgress();
  }
  // A burst (a street of lights confirming) reloads the map, and the open asset if it is
  // concerned, once.
  if (detail.asset === state.reference) state.panelDirty = true;
  if (state.reload) return;
  state.reload = setTimeout(() => {
    if (!state) return;
    state.reload = null;
    state.map.reloadAssets();
    if (state.reference && state.panelDirty) openAsset(state.reference);
    state.panelDirty = false;
  }, 300);
}

function refreshAll() {
  if (!state) return;
  state.map.reloadAssets();
  if (state.reference) openAsset(state.reference);
}
