// One ticket, with everything the crew needs on site, from the tablet's IndexedDB (read
// again from the API when online): category, what the resident said (description, answers
// in words, photos), the equipment and where it is, the desk's notes, the due date, a geo:
// link to navigate there, and the actions: start, note, after photo, resolve, hand back.
// Every action goes to the outbox first (outbox.js) and shows at once; it is sent when the
// network allows.

import { append, clear, h } from "../common/dom.js";
import { addTexts, formatDateTime, lang, named, t } from "../common/i18n.js";
import * as db from "./db.js";
import { isOverdue } from "./list.js";
import { effectiveStatus, queueAction, queuePhoto } from "./outbox.js";
import { readDetail } from "./sync.js";

export const RESOLUTIONS = ["repaired", "made_safe", "replaced", "cleaned", "already_fixed", "other"];
export const HAND_BACK_REASONS = ["not_found_on_site", "not_our_responsibility", "needs_other_skill", "needs_equipment", "access_blocked", "other"];

addTexts({
  fr: {
    "ticket.back": "← Tous les tickets",
    "ticket.missing": "Ce ticket n’est pas sur la tablette.",
    "ticket.status": "État",
    "ticket.priority": "Priorité",
    "ticket.due": "À faire avant",
    "ticket.overdue": "En retard",
    "ticket.address": "Adresse",
    "ticket.navigate": "Y aller (GPS)",
    "ticket.said": "Ce que l’habitant a signalé",
    "ticket.no_description": "Pas de description.",
    "ticket.answers": "Réponses aux questions",
    "ticket.yes": "Oui",
    "ticket.no": "Non",
    "ticket.photos": "Photos",
    "ticket.no_photos": "Aucune photo.",
    "ticket.photo_pending": "Photo en cours de traitement",
    "ticket.photo_kind.report": "Photo du signalement",
    "ticket.photo_kind.after": "Photo après intervention",
    "ticket.photo_kind.reopen": "Photo de réouverture",
    "ticket.asset": "Équipement",
    "ticket.asset_position": "Position : {lat}, {lon}",
    "ticket.asset_navigate": "Aller à l’équipement",
    "ticket.no_asset": "Aucun équipement rattaché.",
    "ticket.notes": "Notes et historique du guichet",
    "ticket.no_notes": "Aucune note.",
    "ticket.queued": "Sur la tablette, en attente d’envoi",
    "ticket.queued_photo": "Photo après intervention (en attente d’envoi)",
    "ticket.actions": "Actions",
    "ticket.offline_hint": "Hors ligne : vos actions sont gardées sur la tablette et envoyées dès le retour du réseau.",
    "ticket.saved": "Enregistré sur la tablette : {action}.",
    "action.start": "Commencer",
    "action.note": "Ajouter une note",
    "action.photo": "Photo après intervention",
    "action.resolve": "Résoudre",
    "action.hand_back": "Rendre au guichet",
    "action.assign": "Affectation",
    "action.acknowledge": "Prise en compte",
    "action.submit": "Signalement",
    "form.note": "Note interne (pour le guichet)",
    "form.resolution": "Résolution",
    "form.message": "Message pour l’habitant (facultatif)",
    "form.reason": "Raison",
    "form.hand_back_note": "Précisions pour le guichet (facultatif)",
    "form.save": "Enregistrer",
    "form.cancel": "Annuler",
    "resolution.repaired": "Réparé",
    "resolution.made_safe": "Mis en sécurité",
    "resolution.replaced": "Remplacé",
    "resolution.cleaned": "Nettoyé",
    "resolution.already_fixed": "Déjà réparé",
    "resolution.other": "Autre",
    "reason.not_found_on_site": "Introuvable sur place",
    "reason.not_our_responsibility": "Pas de notre ressort",
    "reason.needs_other_skill": "Demande une autre compétence",
    "reason.needs_equipment": "Demande du matériel",
    "reason.access_blocked": "Accès impossible",
    "reason.other": "Autre",
  },
  en: {
    "ticket.back": "← All tickets",
    "ticket.missing": "This ticket is not on the tablet.",
    "ticket.status": "State",
    "ticket.priority": "Priority",
    "ticket.due": "Due by",
    "ticket.overdue": "Overdue",
    "ticket.address": "Address",
    "ticket.navigate": "Go there (GPS)",
    "ticket.said": "What the resident reported",
    "ticket.no_description": "No description.",
    "ticket.answers": "Answers to the questions",
    "ticket.yes": "Yes",
    "ticket.no": "No",
    "ticket.photos": "Photos",
    "ticket.no_photos": "No photos.",
    "ticket.photo_pending": "Photo being processed",
    "ticket.photo_kind.report": "Report photo",
    "ticket.photo_kind.after": "After photo",
    "ticket.photo_kind.reopen": "Reopening photo",
    "ticket.asset": "Equipment",
    "ticket.asset_position": "Position: {lat}, {lon}",
    "ticket.asset_navigate": "Go to the equipment",
    "ticket.no_asset": "No equipment linked.",
    "ticket.notes": "The desk's notes and history",
    "ticket.no_notes": "No notes.",
    "ticket.queued": "On the tablet, waiting to be sent",
    "ticket.queued_photo": "After photo (waiting to be sent)",
    "ticket.actions": "Actions",
    "ticket.offline_hint": "Offline: your actions are kept on the tablet and sent when the network is back.",
    "ticket.saved": "Saved on the tablet: {action}.",
    "action.start": "Start",
    "action.note": "Add a note",
    "action.photo": "After photo",
    "action.resolve": "Resolve",
    "action.hand_back": "Hand back to the desk",
    "action.assign": "Assignment",
    "action.acknowledge": "Acknowledgement",
    "action.submit": "Report",
    "form.note": "Internal note (for the desk)",
    "form.resolution": "Resolution",
    "form.message": "Message for the resident (optional)",
    "form.reason": "Reason",
    "form.hand_back_note": "Details for the desk (optional)",
    "form.save": "Save",
    "form.cancel": "Cancel",
    "resolution.repaired": "Repaired",
    "resolution.made_safe": "Made safe",
    "resolution.replaced": "Replaced",
    "resolution.cleaned": "Cleaned",
    "resolution.already_fixed": "Already fixed",
    "resolution.other": "Other",
    "reason.not_found_on_site": "Not found on site",
    "reason.not_our_responsibility": "Not our responsibility",
    "reason.needs_other_skill": "Needs another skill",
    "reason.needs_equipment": "Needs equipment",
    "reason.access_blocked": "Access blocked",
    "reason.other": "Other",
  },
});

let state = null; // {root, ctx, id, urls, onChanged}

function actionWords(action) {
  const key = `action.${action}`;
  return t(key) === key ? action : t(key);
}

function geoLink(lat, lon, text, id) {
  return h("a", { href: `geo:${lat},${lon}`, class: "button button-primary", id }, text);
}

function answersList(record, questions) {
  const answers = Object.entries(record.detail?.answers || record.item?.answers || {});
  if (!answers.length) return null;
  const labels = new Map(questions.map((q) => [q.code, named({ name_fr: q.label_fr, name_en: q.label_en })]));
  const choices = new Map(questions.map((q) => [q.code, new Map((q.choices || []).map((c) => [c.key, named(c)]))]));
  const one = (key, v) => choices.get(key)?.get(v) || (typeof v === "boolean" ? t(v ? "ticket.yes" : "ticket.no") : String(v));
  return [
    h("h3", {}, t("ticket.answers")),
    h("dl", { class: "ticket-answers" }, answers.map(([key, value]) => [h("dt", {}, labels.get(key) || key), h("dd", {}, Array.isArray(value) ? value.map((v) => one(key, v)).join(", ") : one(key, value))])),
  ];
}

function photosList(record) {
  const photos = record.detail?.photos || [];
  if (!photos.length) return h("p", {}, t("ticket.no_photos"));
  return h(
    "ul",
    { class: "ticket-photos", id: "ticket-photos" },
    photos.map((photo) =>
      h(
        "li",
        { "data-kind": photo.kind },
        photo.thumbnail_url
          ? h("a", { href: photo.url, target: "_blank", rel: "noopener" }, h("img", { src: photo.thumbnail_url, alt: `${t(`ticket.photo_kind.${photo.kind}`)} ${photo.id}` }))
          : h("span", { class: "photo-pending" }, t("ticket.photo_pending")),
        h("span", { class: "photo-kind" }, t(`ticket.photo_kind.${photo.kind}`)),
      ),
    ),
  );
}

function assetSection(record) {
  const asset = record.asset;
  const reference = asset?.reference || record.detail?.routing?.asset?.reference;
  const loc = asset?.location;
  return h(
    "section",
    { class: "panel ticket-section", "aria-labelledby": "asset-title", id: "ticket-asset" },
    h("h2", { id: "asset-title" }, t("ticket.asset")),
    reference
      ? [
          h("p", {}, h("strong", {}, reference), asset?.name ? ` — ${asset.name}` : ""),
          loc ? h("p", {}, t("ticket.asset_position", { lat: loc.lat.toFixed(5), lon: loc.lon.toFixed(5) })) : null,
          loc ? geoLink(loc.lat, loc.lon, t("ticket.asset_navigate"), "asset-navigate") : null,
        ]
      : h("p", {}, t("ticket.no_asset")),
  );
}

function notesSection(record) {
  const items = (record.history || []).filter((e) => e.internal_note || e.message || e.action !== "submit");
  return h(
    "section",
    { class: "panel ticket-section", "aria-labelledby": "notes-title" },
    h("h2", { id: "notes-title" }, t("ticket.notes")),
    items.length
      ? h(
          "ol",
          { class: "history", id: "ticket-history" },
          items.map((event) => {
            const message = event.message ? event.message[lang()] || event.message.fr : null;
            return h(
              "li",
              { "data-action": event.action },
              h("time", { datetime: event.at }, formatDateTime(event.at)),
              " ",
              h("strong", {}, actionWords(event.action)),
              event.to_status && event.from_status !== event.to_status ? ` → ${t(`status.${event.to_status}`)}` : "",
              event.internal_note ? h("p", { class: "history-note" }, event.internal_note) : null,
              message ? h("p", { class: "history-message" }, message) : null,
            );
          }),
        )
      : h("p", {}, t("ticket.no_notes")),
  );
}

function queuedSection(pending) {
  if (!pending.length) return null;
  return h(
    "section",
    { class: "panel ticket-section ticket-queued", "aria-labelledby": "queued-title" },
    h("h2", { id: "queued-title" }, t("ticket.queued")),
    h(
      "ul",
      { id: "ticket-queued" },
      pending.map((entry) => {
        if (entry.kind === "photo") {
          const url = URL.createObjectURL(entry.blob);
          state?.urls.push(url);
          return h("li", { "data-queued": "photo" }, h("img", { src: url, alt: t("ticket.queued_photo"), class: "queued-photo" }), " ", t("ticket.queued_photo"));
        }
        const detail = entry.body.note || entry.body.resolution && t(`resolution.${entry.body.resolution}`) || entry.body.reason && t(`reason.${entry.body.reason}`) || "";
        return h("li", { "data-queued": entry.action }, h("strong", {}, actionWords(entry.action)), detail ? ` — ${detail}` : "", " · ", formatDateTime(entry.body.client_at));
      }),
    ),
  );
}

function selectField(id, label, options, prefix) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("select", { id, required: true }, options.map((code) => h("option", { value: code }, t(`${prefix}.${code}`)))),
  );
}

function textField(id, label, required = false) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("textarea", { id, rows: 3, maxlength: 2000, required }));
}

async function queue(action, body) {
  const { ctx, id } = state;
  const record = await db.ticket(ctx.uid, id);
  await queueAction(ctx.uid, record, action, body);
  ctx.announce(t("ticket.saved", { action: actionWords(action) }));
  await ctx.changed();
  if (ctx.online()) ctx.work();
}

function formFor(action, area) {
  clear(area);
  let fields;
  let collect;
  if (action === "note") {
    fields = [textField("form-note", t("form.note"), true)];
    collect = () => ({ note: document.getElementById("form-note").value.trim() });
  } else if (action === "resolve") {
    fields = [selectField("form-resolution", t("form.resolution"), RESOLUTIONS, "resolution"), textField("form-message", t("form.message"))];
    collect = () => {
      const message = document.getElementById("form-message").value.trim();
      return { resolution: document.getElementById("form-resolution").value, ...(message ? { message: { fr: message } } : {}) };
    };
  } else {
    fields = [selectField("form-reason", t("form.reason"), HAND_BACK_REASONS, "reason"), textField("form-hand-back-note", t("form.hand_back_note"))];
    collect = () => {
      const note = document.getElementById("form-hand-back-note").value.trim();
      return { reason: document.getElementById("form-reason").value, ...(note ? { note } : {}) };
    };
  }
  const form = h(
    "form",
    {
      class: "panel action-form",
      "data-form": action,
      onsubmit: async (event) => {
        event.preventDefault();
        const body = collect();
        if (action === "note" && !body.note) return;
        clear(area);
        await queue(action, body);
      },
    },
    h("h3", {}, actionWords(action)),
    fields,
    h("div", { class: "form-buttons" }, h("button", { type: "submit", class: "button button-primary" }, t("form.save")), h("button", { type: "button", class: "button", onclick: () => { clear(area); if (state?.stale) draw(); } }, t("form.cancel"))),
  );
  area.append(form);
  form.querySelector("select, textarea")?.focus();
}

function actionsSection(record, status) {
  const area = h("div", { id: "action-form" });
  const ours = !record.done;
  const open = ["assigned", "in_progress"].includes(status);
  const button = (action, onclick, primary = false) =>
    h("button", { type: "button", class: `button action-button${primary ? " button-primary" : ""}`, "data-action": action, onclick }, actionWords(action));
  const file = h("input", {
    type: "file",
    accept: "image/*",
    capture: "environment",
    id: "after-photo",
    class: "visually-hidden",
    onchange: async () => {
      for (const chosen of file.files) await queuePhoto(state.ctx.uid, await db.ticket(state.ctx.uid, record.id), chosen, chosen.name);
      file.value = "";
      state.ctx.announce(t("ticket.saved", { action: t("action.photo") }));
      await state.ctx.changed();
      if (state.ctx.online()) state.ctx.work();
    },
  });
  return h(
    "section",
    { class: "panel ticket-section", "aria-labelledby": "actions-title" },
    h("h2", { id: "actions-title" }, t("ticket.actions")),
    navigator.onLine ? null : h("p", { class: "hint", id: "offline-hint" }, t("ticket.offline_hint")),
    h(
      "div",
      { class: "ticket-actions" },
      status === "assigned" && ours ? button("start", () => queue("start", {}), true) : null,
      button("note", () => formFor("note", area)),
      ours ? [file, h("label", { for: "after-photo", class: "button action-button", "data-action": "photo" }, t("action.photo"))] : null,
      open && ours ? button("resolve", () => formFor("resolve", area), true) : null,
      open && ours ? button("hand_back", () => formFor("hand_back", area)) : null,
    ),
    area,
  );
}

async function draw() {
  if (!state) return;
  const { root, ctx, id } = state;
  const [record, entries] = await Promise.all([db.ticket(ctx.uid, id), db.entries(ctx.uid)]);
  if (!state || state.id !== id) return;
  for (const url of state.urls.splice(0)) URL.revokeObjectURL(url);
  const focused = document.activeElement?.id;
  state.stale = false;
  clear(root);
  root.append(h("p", {}, h("a", { href: "#/", class: "button", id: "back-link" }, t("ticket.back"))));
  if (!record?.item) {
    root.append(h("h1", {}, t("ticket.missing")));
    root.dataset.ready = "ticket";
    return;
  }
  const pending = entries.filter((e) => e.state === "pending" && e.reportId === id);
  const status = effectiveStatus(record, pending);
  const item = record.item;
  const detail = record.detail || {};
  const coords = item.location?.coordinates || detail.location?.coordinates;
  const questions = (await db.getMeta(ctx.uid, `questions:${item.category?.code}`)) || [];
  append(root, [
    h("h1", { id: "ticket-title" }, named(item.category), " · ", item.reference),
    h(
      "dl",
      { class: "ticket-facts" },
      h("dt", {}, t("ticket.status")),
      h("dd", { id: "ticket-status", "data-status": status }, t(`status.${status}`)),
      item.priority ? [h("dt", {}, t("ticket.priority")), h("dd", {}, t(`priority.${item.priority}`))] : null,
      item.due_at
        ? [h("dt", {}, t("ticket.due")), h("dd", { id: "ticket-due" }, formatDateTime(item.due_at), isOverdue({ ...item, status }) ? [" ", h("span", { class: "badge badge--overdue" }, t("ticket.overdue"))] : null)]
        : null,
      item.address ? [h("dt", {}, t("ticket.address")), h("dd", {}, item.address)] : null,
    ),
    coords ? h("p", {}, geoLink(coords[1], coords[0], t("ticket.navigate"), "navigate")) : null,
    actionsSection(record, status),
    queuedSection(pending),
    h(
      "section",
      { class: "panel ticket-section", "aria-labelledby": "said-title" },
      h("h2", { id: "said-title" }, t("ticket.said")),
      h("blockquote", { class: "ticket-description", lang: detail.language || null }, detail.description || item.description || t("ticket.no_description")),
      answersList(record, questions),
      h("h3", {}, t("ticket.photos")),
      photosList(record),
    ),
    assetSection(record),
    notesSection(record),
  ]);
  if (focused) document.getElementById(focused)?.focus();
  root.dataset.ready = "ticket";
}

// Not while the crew is filling in a form: drawn again once it is saved or cancelled.
function redraw() {
  if (state && document.querySelector("#action-form form")) state.stale = true;
  else draw();
}

export async function render(root, ctx) {
  state = { root, ctx, id: ctx.params.id, urls: [], onChanged: redraw };
  ctx.events.addEventListener("changed", state.onChanged);
  const record = await db.ticket(ctx.uid, ctx.params.id);
  // Online, the ticket is read again first (its photos may have been processed since).
  if (record && ctx.online()) await readDetail(ctx.uid, record).catch(() => null);
  await draw();
}

export function dispose() {
  if (!state) return;
  state.ctx.events.removeEventListener("changed", state.onChanged);
  for (const url of state.urls) URL.revokeObjectURL(url);
  state = null;
}
