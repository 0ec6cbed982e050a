// One ticket, as its desk sees it: what the resident said (description, answers, photos),
// where, why routing chose this desk and crew, nearby open reports of the same category, the
// history, the contact behind an explicit (audited) button, and every action the transition
// table allows the agent now. Every action sends If-Match with the version shown; on 412 the
// agent sees what changed and may redo the action on the current version.

import { ApiProblem, etagOf } from "../common/api.js";
import { clear, h, idempotencyKey, problemBox } from "../common/dom.js";
import { addTexts, formatDateTime, lang, named, t } from "../common/i18n.js";
import { PhotoModeration } from "./photo-moderation.js";

addTexts({
  fr: {
    "ticket.close": "Fermer le signalement",
    "ticket.loading": "Chargement du signalement…",
    "ticket.priority": "Priorité",
    "ticket.due": "Échéance",
    "ticket.overdue": "en retard",
    "ticket.created": "Signalé le",
    "ticket.place": "Lieu",
    "ticket.desk": "Pôle",
    "ticket.crew": "Équipe",
    "ticket.none": "aucune",
    "ticket.supporters": "Soutiens",
    "ticket.said": "Ce que l’habitant a signalé",
    "ticket.no_description": "Pas de description.",
    "ticket.answers": "Réponses aux questions",
    "ticket.yes": "oui",
    "ticket.no": "non",
    "ticket.photos": "Photos",
    "ticket.photo_kind.report": "Photo du signalement",
    "ticket.photo_kind.after": "Photo après intervention",
    "ticket.photo_kind.reopen": "Photo de réouverture",
    "ticket.photo_pending": "Photo en cours de traitement",
    "ticket.no_photos": "Aucune photo.",
    "ticket.public_description": "Description publiée",
    "ticket.actions": "Actions",
    "ticket.no_actions": "Aucune action possible dans cet état.",
    "ticket.routing": "Pourquoi ce pôle, cette équipe, cet équipement",
    "ticket.nearby": "Signalements ouverts proches de la même catégorie",
    "ticket.nearby_none": "Aucun signalement ouvert de cette catégorie à moins de 250 m.",
    "ticket.merge_into": "Fusionner dans {reference}",
    "ticket.history": "Historique",
    "ticket.contact": "Coordonnées de l’habitant",
    "ticket.show_contact": "Afficher le contact",
    "ticket.contact_audited": "Chaque consultation est enregistrée dans le journal d’audit.",
    "ticket.contact_none": "L’habitant n’a pas laissé de coordonnées.",
    "ticket.contact_name": "Nom",
    "ticket.contact_email": "Courriel",
    "ticket.contact_phone": "Téléphone",
    "ticket.changed_live": "Ce signalement vient d’être modifié (version {version}) : il est à jour.",
    "ticket.changed_while_writing": "Ce signalement vient d’être modifié ailleurs (version {version}) : à l’envoi, votre action sera vérifiée face à cette version.",
    "ticket.done": "Action « {action} » enregistrée.",
    "ticket.conflict_title": "Ce signalement a changé pendant que vous le consultiez",
    "ticket.conflict_intro": "Votre action « {action} » n’a pas été appliquée. Voici ce qui a changé :",
    "ticket.conflict_field": "Champ",
    "ticket.conflict_yours": "Ce que vous voyiez",
    "ticket.conflict_now": "Maintenant",
    "ticket.conflict_redo": "Refaire l’action sur la version actuelle",
    "ticket.conflict_drop": "Abandonner mon action",
    "ticket.conflict_not_allowed": "Cette action n’est plus possible dans l’état actuel.",
    "ticket.field.status": "État",
    "ticket.field.priority": "Priorité",
    "ticket.field.crew": "Équipe",
    "ticket.field.desk": "Pôle",
    "ticket.field.category": "Catégorie",
    "ticket.field.version": "Version",
    "ticket.field.public_description": "Description publiée",
    "form.submit": "Valider",
    "form.cancel": "Annuler",
    "form.crew": "Équipe",
    "form.priority": "Priorité",
    "form.desk": "Nouveau pôle",
    "form.category": "Nouvelle catégorie",
    "form.into": "Numéro du signalement d’origine",
    "form.pick_on_map": "Choisir sur la carte",
    "form.reason": "Motif",
    "form.note": "Note interne (visible du personnel seulement)",
    "form.template": "Modèle de message",
    "form.template_none": "— sans modèle —",
    "form.message_fr": "Message public (français)",
    "form.message_en": "Message public (anglais, facultatif)",
    "form.description": "Description à publier (sans donnée personnelle)",
    "form.withdraw": "Retirer la description publiée",
    "form.reopen_reason": "Motif de la réouverture",
    "reason.not_our_problem": "Pas un problème de voirie",
    "reason.not_our_responsibility": "Hors de la compétence de la métropole",
    "reason.not_found_on_site": "Rien constaté sur place",
    "action.submit": "Signalé",
    "action.support": "Soutenu",
    "routing.desk": "Pôle",
    "routing.rule": "règle d’aiguillage « {rule} »",
    "routing.forced": "réaiguillé à la main",
    "routing.fallback": "pôle par défaut (aucune règle ne s’applique)",
    "routing.crew": "Équipe proposée",
    "routing.load": "charge {workload} sur {capacity}",
    "routing.depot": "dépôt à {metres} m",
    "routing.over_capacity": "au-delà de sa capacité",
    "routing.no_crew": "aucune équipe active du pôle ne couvre ce point avec la compétence",
    "routing.asset": "Équipement",
    "routing.asset_why": "rattaché au signalement",
    "routing.duplicate": "Doublon possible de",
    "routing.service_level": "Niveau de service",
    "routing.hours": "{hours} h, priorité {priority}",
    "action.acknowledge": "Prendre en compte",
    "action.set_priority": "Changer la priorité",
    "action.assign": "Affecter",
    "action.reroute": "Réaiguiller",
    "action.change_category": "Changer la catégorie",
    "action.merge": "Fusionner (doublon)",
    "action.reject": "Rejeter",
    "action.note": "Note interne",
    "action.public_update": "Message public",
    "action.publish_description": "Publier la description",
    "action.reopen": "Rouvrir",
    "action.close": "Clore",
    "action.start": "Commencer",
    "action.resolve": "Résoudre",
    "action.hand_back": "Rendre au pôle",
  },
  en: {
    "ticket.close": "Close the report",
    "ticket.loading": "Loading the report…",
    "ticket.priority": "Priority",
    "ticket.due": "Due",
    "ticket.overdue": "overdue",
    "ticket.created": "Reported on",
    "ticket.place": "Place",
    "ticket.desk": "Desk",
    "ticket.crew": "Crew",
    "ticket.none": "none",
    "ticket.supporters": "Supporters",
    "ticket.said": "What the resident reported",
    "ticket.no_description": "No description.",
    "ticket.answers": "Answers to the questions",
    "ticket.yes": "yes",
    "ticket.no": "no",
    "ticket.photos": "Photos",
    "ticket.photo_kind.report": "Report photo",
    "ticket.photo_kind.after": "Photo after the work",
    "ticket.photo_kind.reopen": "Reopening photo",
    "ticket.photo_pending": "Photo being processed",
    "ticket.no_photos": "No photos.",
    "ticket.public_description": "Published description",
    "ticket.actions": "Actions",
    "ticket.no_actions": "No action is possible in this state.",
    "ticket.routing": "Why this desk, this crew, this equipment",
    "ticket.nearby": "Nearby open reports of the same category",
    "ticket.nearby_none": "No open report of this category within 250 m.",
    "ticket.merge_into": "Merge into {reference}",
    "ticket.history": "History",
    "ticket.contact": "The resident's contact details",
    "ticket.show_contact": "Show contact",
    "ticket.contact_audited": "Every read is recorded in the audit log.",
    "ticket.contact_none": "The resident left no contact details.",
    "ticket.contact_name": "Name",
    "ticket.contact_email": "E-mail",
    "ticket.contact_phone": "Phone",
    "ticket.changed_live": "This report was just changed (version {version}): it is up to date.",
    "ticket.changed_while_writing": "This report was just changed elsewhere (version {version}): when you send your action, it will be checked against that version.",
    "ticket.done": "Action “{action}” recorded.",
    "ticket.conflict_title": "This report changed while you were looking at it",
    "ticket.conflict_intro": "Your action “{action}” was not applied. This is what changed:",
    "ticket.conflict_field": "Field",
    "ticket.conflict_yours": "What you saw",
    "ticket.conflict_now": "Now",
    "ticket.conflict_redo": "Redo the action on the current version",
    "ticket.conflict_drop": "Drop my action",
    "ticket.conflict_not_allowed": "This action is no longer possible in the current state.",
    "ticket.field.status": "State",
    "ticket.field.priority": "Priority",
    "ticket.field.crew": "Crew",
    "ticket.field.desk": "Desk",
    "ticket.field.category": "Category",
    "ticket.field.version": "Version",
    "ticket.field.public_description": "Published description",
    "form.submit": "Confirm",
    "form.cancel": "Cancel",
    "form.crew": "Crew",
    "form.priority": "Priority",
    "form.desk": "New desk",
    "form.category": "New category",
    "form.into": "Number of the original report",
    "form.pick_on_map": "Pick on the map",
    "form.reason": "Reason",
    "form.note": "Internal note (staff only)",
    "form.template": "Message template",
    "form.template_none": "— no template —",
    "form.message_fr": "Public message (French)",
    "form.message_en": "Public message (English, optional)",
    "form.description": "Description to publish (no personal data)",
    "form.withdraw": "Withdraw the published description",
    "form.reopen_reason": "Reason for reopening",
    "reason.not_our_problem": "Not a road problem",
    "reason.not_our_responsibility": "Not the metropolis's responsibility",
    "reason.not_found_on_site": "Nothing found on site",
    "action.submit": "Reported",
    "action.support": "Supported",
    "routing.desk": "Desk",
    "routing.rule": "routing rule “{rule}”",
    "routing.forced": "re-routed by hand",
    "routing.fallback": "fallback desk (no rule applies)",
    "routing.crew": "Proposed crew",
    "routing.load": "load {workload} of {capacity}",
    "routing.depot": "depot {metres} m away",
    "routing.over_capacity": "over capacity",
    "routing.no_crew": "no active crew of the desk covers the point with the skill",
    "routing.asset": "Equipment",
    "routing.asset_why": "linked to the report",
    "routing.duplicate": "Possible duplicate of",
    "routing.service_level": "Service level",
    "routing.hours": "{hours} h, priority {priority}",
    "action.acknowledge": "Acknowledge",
    "action.set_priority": "Change priority",
    "action.assign": "Assign",
    "action.reroute": "Re-route",
    "action.change_category": "Change category",
    "action.merge": "Merge (duplicate)",
    "action.reject": "Reject",
    "action.note": "Internal note",
    "action.public_update": "Public update",
    "action.publish_description": "Publish the description",
    "action.reopen": "Reopen",
    "action.close": "Close",
    "action.start": "Start",
    "action.resolve": "Resolve",
    "action.hand_back": "Hand back",
  },
});

const cache = { crews: null, categories: null, templates: null, questions: new Map() };

async function crews(ctx) {
  if (!cache.crews) cache.crews = (await ctx.api("/v1/crews")).body;
  return cache.crews;
}
async function categories(ctx) {
  if (!cache.categories) cache.categories = (await ctx.api("/v1/categories")).body;
  return cache.categories;
}
async function templates(ctx) {
  if (!cache.templates) cache.templates = (await ctx.api("/v1/message-templates")).body;
  return cache.templates;
}
async function questionsOf(ctx, code) {
  if (!cache.questions.has(code)) {
    try {
      cache.questions.set(code, (await ctx.api(`/v1/categories/${encodeURIComponent(code)}`)).body.questions || []);
    } catch (_) {
      cache.questions.set(code, []);
    }
  }
  return cache.questions.get(code);
}

function flatCategories(body) {
  const out = [];
  const walk = (value) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      if (value.code && (value.name_fr || value.name_en) && !value.categories) out.push(value);
      for (const child of Object.values(value)) if (child && typeof child === "object") walk(child);
    }
  };
  walk(body);
  const seen = new Set();
  return out.filter((c) => !seen.has(c.code) && seen.add(c.code));
}

const WATCHED = ["status", "priority", "crew", "desk", "category", "public_description", "version"];

function fieldText(report, field) {
  const value = report?.[field];
  if (value === null || value === undefined) return "—";
  if (field === "status") return t(`status.${value}`);
  if (field === "priority") return t(`priority.${value}`);
  if (typeof value === "object") return named(value) || value.code || value.reference || JSON.stringify(value);
  return String(value);
}


export class Ticket {
  constructor(pane, ctx, { map, onChanged, onClose }) {
    this.pane = pane;
    this.ctx = ctx;
    this.map = map;
    this.onChanged = onChanged;
    this.onClose = onClose;
    this.report = null;
    this.actions = [];
    this.formArea = null;
    this.photoViews = [];
    this.onEvent = (event) => this.live(event.detail);
    ctx.events.addEventListener("report", this.onEvent);
  }

  dispose() {
    this.ctx.events.removeEventListener("report", this.onEvent);
    this.map?.cancelPick();
    this.disposePhotos();
  }

  disposePhotos() {
    for (const view of this.photoViews) view.dispose();
    this.photoViews = [];
  }

  async open(id) {
    this.id = id;
    clear(this.pane);
    this.pane.append(h("p", { class: "console-loading" }, t("ticket.loading")));
    try {
      await this.load();
    } catch (error) {
      clear(this.pane);
      this.pane.append(problemBox(error, t));
      return;
    }
    this.render();
    this.pane.querySelector("h2")?.focus();
  }

  // The report, the actions offered on it now and its history; ``known``: the report as an
  // action just answered it (not read again).
  async load(known = null) {
    const [report, actions, history] = await Promise.all([
      known ? { body: known } : this.ctx.api(`/v1/reports/${this.id}`),
      this.ctx.api(`/v1/reports/${this.id}/actions`),
      this.ctx.api(`/v1/reports/${this.id}/history`, { query: { limit: 200 } }),
    ]);
    this.report = report.body;
    this.actions = actions.body.version === this.report.version ? actions.body.actions : (await this.ctx.api(`/v1/reports/${this.id}/actions`)).body.actions;
    this.history = history.body.items;
    this.questions = await questionsOf(this.ctx, this.report.category.code);
    this.nearby = [];
    this.map?.setNearby([]);
    this.map?.focus(this.report);
    this.loadNearby(); // the ticket does not wait for it
  }

  async loadNearby() {
    const report = this.report;
    const point = report.location?.coordinates;
    if (!point) return;
    try {
      const found = await this.ctx.api("/v1/reports/suggestions", { query: { lon: point[0], lat: point[1], category: report.category.code } });
      if (this.report?.id !== report.id) return;
      const items = Array.isArray(found.body) ? found.body : found.body.items || [];
      this.nearby = items.filter((item) => item.id !== report.id);
    } catch (_) {
      this.nearby = [];
    }
    this.map?.setNearby(this.nearby);
    const section = this.pane.querySelector("#nearby-section");
    if (section) section.replaceWith(this.nearbySection());
  }

  async live(detail) {
    if (!this.report || !detail || detail.id !== this.report.id || detail.version <= this.report.version) return;
    if (this.busy) return;
    if (this.formArea?.querySelector("form")) {
      // The agent is writing an action: nothing they typed is wiped. The action goes with
      // the version they saw; if it conflicts, the conflict view shows what changed.
      this.notice(t("ticket.changed_while_writing", { version: detail.version }));
      return;
    }
    await this.load();
    this.render();
    this.notice(t("ticket.changed_live", { version: this.report.version }));
  }

  notice(text) {
    const box = this.pane.querySelector(".ticket-notice");
    if (box) box.textContent = text;
    this.ctx.announce(text);
  }

  render() {
    const r = this.report;
    this.disposePhotos();
    clear(this.pane);
    const overdue = r.due_at && ["new", "acknowledged", "assigned", "in_progress", "reopened"].includes(r.status) && new Date(r.due_at) < new Date();
    this.formArea = h("div", { class: "ticket-form-area", id: "ticket-form-area" });
    this.pane.append(
      h(
        "div",
        { class: "ticket-head" },
        h("h2", { id: "ticket-title", tabindex: "-1" }, `${r.reference} · ${named(r.category)}`),
        h("button", { type: "button", class: "button", id: "ticket-close", onclick: () => this.onClose() }, t("ticket.close")),
      ),
      h("p", { class: "ticket-notice", role: "status" }),
      h(
        "dl",
        { class: "ticket-facts" },
        h("dt", {}, t("ticket.field.status")),
        h("dd", {}, h("span", { class: `badge status-${r.status}`, id: "ticket-status" }, t(`status.${r.status}`))),
        h("dt", {}, t("ticket.priority")),
        h("dd", {}, t(`priority.${r.priority}`)),
        h("dt", {}, t("ticket.due")),
        h("dd", {}, formatDateTime(r.due_at), overdue ? h("span", { class: "badge badge-overdue" }, t("ticket.overdue")) : null),
        h("dt", {}, t("ticket.created")),
        h("dd", {}, formatDateTime(r.created_at)),
        h("dt", {}, t("ticket.place")),
        h("dd", {}, [r.address, r.commune?.name].filter(Boolean).join(", ") || "—"),
        h("dt", {}, t("ticket.desk")),
        h("dd", {}, named(r.desk) || r.desk?.code || "—"),
        h("dt", {}, t("ticket.crew")),
        h("dd", { id: "ticket-crew" }, r.crew ? r.crew.name || r.crew.code : t("ticket.none")),
        h("dt", {}, t("ticket.supporters")),
        h("dd", {}, String((r.support_count || 0) + (r.anonymous_support_count || 0))),
      ),
      this.actionsSection(),
      this.saidSection(),
      this.contactSection(),
      this.routingSection(),
      this.nearbySection(),
      this.historySection(),
    );
  }

  actionsSection() {
    const buttons = this.actions.map((name) =>
      h("button", { type: "button", class: name === "acknowledge" ? "button button-primary" : "button", "data-action": name, onclick: () => this.begin(name) }, t(`action.${name}`)),
    );
    return h(
      "section",
      { class: "ticket-section", "aria-labelledby": "actions-title" },
      h("h3", { id: "actions-title" }, t("ticket.actions")),
      buttons.length ? h("div", { class: "ticket-actions" }, buttons) : h("p", {}, t("ticket.no_actions")),
      this.formArea,
    );
  }

  saidSection() {
    const r = this.report;
    const labels = new Map(this.questions.map((q) => [q.code, named({ name_fr: q.label_fr, name_en: q.label_en })]));
    const choices = new Map(this.questions.map((q) => [q.code, new Map((q.choices || []).map((c) => [c.key, named(c)]))]));
    const answerText = (key, value) => {
      const one = (v) => choices.get(key)?.get(v) || (typeof v === "boolean" ? t(v ? "ticket.yes" : "ticket.no") : String(v));
      return Array.isArray(value) ? value.map(one).join(", ") : one(value);
    };
    const answers = Object.entries(r.answers || {});
    const photos = r.photos || [];
    return h(
      "section",
      { class: "ticket-section", "aria-labelledby": "said-title" },
      h("h3", { id: "said-title" }, t("ticket.said")),
      h("blockquote", { class: "ticket-description", lang: r.language || null }, r.description || t("ticket.no_description")),
      answers.length
        ? [h("h4", {}, t("ticket.answers")), h("dl", { class: "ticket-answers" }, answers.map(([key, value]) => [h("dt", {}, labels.get(key) || key), h("dd", {}, answerText(key, value))]))]
        : null,
      r.public_description ? [h("h4", {}, t("ticket.public_description")), h("p", {}, r.public_description)] : null,
      h("h4", {}, t("ticket.photos")),
      photos.length
        ? h(
            "ul",
            { class: "ticket-photos" },
            photos.map((photo) =>
              photo.moderation && photo.status === "ready"
                ? h("li", { class: "ticket-photos__moderated" }, this.moderation(photo))
                : h(
                "li",
                {},
                photo.thumbnail_url
                  ? h(
                      "a",
                      { href: photo.url, target: "_blank", rel: "noopener" },
                      h("img", { src: photo.thumbnail_url, alt: `${t(`ticket.photo_kind.${photo.kind}`)} ${photo.id}`, width: photo.width ? null : 160, loading: "lazy" }),
                    )
                  : h("span", { class: "photo-pending" }, t("ticket.photo_pending")),
                h("span", { class: "photo-kind" }, t(`ticket.photo_kind.${photo.kind}`)),
              ),
            ),
          )
        : h("p", {}, t("ticket.no_photos")),
    );
  }

  // A ready photo as the desk moderates it (app: its boxes, hidden or public, the original).
  moderation(photo) {
    const view = new PhotoModeration(this.ctx, this.report.id, photo, { label: t(`ticket.photo_kind.${photo.kind}`) });
    this.photoViews.push(view);
    return view.element;
  }

  contactSection() {
    const box = h("div", { id: "contact-box" });
    const button = h(
      "button",
      {
        type: "button",
        class: "button",
        id: "show-contact",
        onclick: async () => {
          button.disabled = true;
          clear(box);
          try {
            const contact = (await this.ctx.api(`/v1/reports/${this.report.id}/contact`)).body;
            const c = contact.contact || contact;
            const rows = [
              ["ticket.contact_name", c.name],
              ["ticket.contact_email", c.email],
              ["ticket.contact_phone", c.phone],
            ].filter(([, value]) => value);
            box.append(rows.length ? h("dl", { class: "contact" }, rows.map(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)])) : h("p", {}, t("ticket.contact_none")));
            button.remove();
          } catch (error) {
            box.append(problemBox(error, t));
            button.disabled = false;
          }
        },
      },
      t("ticket.show_contact"),
    );
    return h(
      "section",
      { class: "ticket-section", "aria-labelledby": "contact-title" },
      h("h3", { id: "contact-title" }, t("ticket.contact")),
      h("p", { class: "hint" }, t("ticket.contact_audited")),
      button,
      box,
    );
  }

  routingSection() {
    const routing = this.report.routing || {};
    const rows = [];
    const desk = routing.desk;
    if (desk) {
      const how = desk.rule === "forced" ? t("routing.forced") : desk.rule?.name ? t("routing.rule", { rule: desk.rule.name }) : t("routing.fallback");
      rows.push([t("routing.desk"), `${named(this.ctx.desks.find((d) => d.code === desk.desk)) || desk.desk || "—"} — ${how}`]);
    }
    const crew = routing.crew;
    if (crew) {
      rows.push([
        t("routing.crew"),
        crew.crew
          ? [
              crew.crew,
              t("routing.load", { workload: crew.workload ?? "?", capacity: crew.capacity ?? "?" }),
              crew.depot_distance_m != null ? t("routing.depot", { metres: crew.depot_distance_m }) : null,
              crew.over_capacity ? t("routing.over_capacity") : null,
            ].filter(Boolean).join(" — ")
          : t("routing.no_crew"),
      ]);
    }
    if (routing.asset) rows.push([t("routing.asset"), `${routing.asset.reference} — ${t("routing.asset_why")}`]);
    if (routing.duplicate) rows.push([t("routing.duplicate"), routing.duplicate.reference || String(routing.duplicate.report_id)]);
    if (routing.service_level) {
      rows.push([t("routing.service_level"), t("routing.hours", { hours: routing.service_level.hours, priority: t(`priority.${routing.service_level.priority}`) })]);
    }
    if (!rows.length) return null;
    return h(
      "section",
      { class: "ticket-section", "aria-labelledby": "routing-title" },
      h("h3", { id: "routing-title" }, t("ticket.routing")),
      h("dl", { class: "routing" }, rows.map(([term, text]) => [h("dt", {}, term), h("dd", {}, text)])),
    );
  }

  nearbySection() {
    const mergeable = this.actions.includes("merge");
    return h(
      "section",
      { class: "ticket-section", id: "nearby-section", "aria-labelledby": "nearby-title" },
      h("h3", { id: "nearby-title" }, t("ticket.nearby")),
      this.nearby.length
        ? h(
            "ul",
            { class: "nearby" },
            this.nearby.map((item) =>
              h(
                "li",
                {},
                `${item.reference || item.id} · ${t(`status.${item.status}`)}${item.distance_m != null ? ` · ${Math.round(item.distance_m)} m` : ""} `,
                mergeable ? h("button", { type: "button", class: "button", "data-merge-into": item.id, onclick: () => this.begin("merge", { into: item.id }) }, t("ticket.merge_into", { reference: item.reference || item.id })) : null,
              ),
            ),
          )
        : h("p", {}, t("ticket.nearby_none")),
    );
  }

  historySection() {
    return h(
      "section",
      { class: "ticket-section", "aria-labelledby": "history-title" },
      h("h3", { id: "history-title" }, t("ticket.history")),
      h(
        "ol",
        { class: "history", id: "ticket-history" },
        this.history.map((event) => {
          const message = event.message ? event.message[lang()] || event.message.fr : null;
          return h(
            "li",
            { "data-action": event.action },
            h("time", { datetime: event.at }, formatDateTime(event.at)),
            " ",
            h("strong", {}, t(`action.${event.action}`) === `action.${event.action}` ? event.action : t(`action.${event.action}`)),
            event.from_status !== event.to_status && event.to_status ? ` → ${t(`status.${event.to_status}`)}` : "",
            event.actor_uid ? ` · ${event.actor_uid}` : "",
            message ? h("p", { class: "history-message" }, message) : null,
            event.internal_note ? h("p", { class: "history-note" }, event.internal_note) : null,
          );
        }),
      ),
    );
  }

  // --- actions --------------------------------------------------------------------------

  focusAction(name) {
    if (!this.actions.includes(name)) return false;
    if (name === "acknowledge") this.submit(name, {});
    else this.begin(name);
    return true;
  }

  async begin(name, preset = {}) {
    this.map?.cancelPick();
    clear(this.formArea);
    const fields = await this.fieldsFor(name, preset);
    if (!fields) {
      await this.submit(name, {});
      return;
    }
    const status = h("div", { class: "form-status" });
    const form = h(
      "form",
      {
        class: "action-form",
        "data-form": name,
        onsubmit: async (event) => {
          event.preventDefault();
          clear(status);
          const body = fields.read();
          if (body) await this.submit(name, body, status);
        },
      },
      h("h4", {}, t(`action.${name}`)),
      fields.elements,
      status,
      h(
        "div",
        { class: "form-buttons" },
        h("button", { type: "submit", class: "button button-primary" }, t("form.submit")),
        h("button", { type: "button", class: "button", onclick: () => { this.map?.cancelPick(); clear(this.formArea); } }, t("form.cancel")),
      ),
    );
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.map?.cancelPick();
        clear(this.formArea);
        this.pane.querySelector(`[data-action="${name}"]`)?.focus();
      }
    });
    this.formArea.append(form);
    form.querySelector("select, input, textarea")?.focus();
  }

  async fieldsFor(name, preset) {
    const r = this.report;
    const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
    const select = (id, options, value) =>
      h("select", { id, required: true }, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) ? true : null }, text)));
    const text = (id, required = false, value = "") => {
      const area = h("textarea", { id, rows: 3, required: required || null });
      area.value = value;
      return area;
    };
    if (name === "acknowledge" || name === "close" || name === "start") return null;
    if (name === "assign") {
      const desk = r.desk?.code;
      const options = (await crews(this.ctx)).filter((crew) => crew.desk === desk && crew.active !== false).map((crew) => [crew.code, `${crew.name} (${crew.code})`]);
      const control = select("form-crew", options, r.crew?.code || r.routing?.crew?.code);
      return { elements: field("form-crew", t("form.crew"), control), read: () => ({ crew: control.value }) };
    }
    if (name === "set_priority") {
      const control = select("form-priority", [1, 2, 3, 4].map((p) => [p, t(`priority.${p}`)]), r.priority);
      return { elements: field("form-priority", t("form.priority"), control), read: () => ({ priority: Number(control.value) }) };
    }
    if (name === "reroute") {
      const control = select("form-desk", this.ctx.desks.filter((d) => d.code !== r.desk?.code).map((d) => [d.code, named(d)]));
      return { elements: field("form-desk", t("form.desk"), control), read: () => ({ desk: control.value }) };
    }
    if (name === "change_category") {
      const control = select("form-category", flatCategories(await categories(this.ctx)).filter((c) => c.code !== r.category.code).map((c) => [c.code, named(c)]));
      return { elements: field("form-category", t("form.category"), control), read: () => ({ category: control.value }) };
    }
    if (name === "merge") {
      const control = h("input", { id: "form-into", type: "number", min: 1, required: true, inputmode: "numeric" });
      if (preset.into) control.value = preset.into;
      const pick = h(
        "button",
        {
          type: "button",
          class: "button",
          id: "pick-on-map",
          onclick: async () => {
            this.ctx.announce(t("map.picking"));
            const id = await this.map.pick();
            if (id && id !== r.id) {
              control.value = id;
              control.focus();
            }
          },
        },
        t("form.pick_on_map"),
      );
      return { elements: [field("form-into", t("form.into"), control), this.map ? pick : null], read: () => ({ into: Number(control.value) }) };
    }
    if (name === "reject") {
      const control = select("form-reason", ["not_our_problem", "not_our_responsibility", "not_found_on_site"].map((v) => [v, t(`reason.${v}`)]));
      return { elements: field("form-reason", t("form.reason"), control), read: () => ({ reason: control.value }) };
    }
    if (name === "note") {
      const control = text("form-note", true);
      return { elements: field("form-note", t("form.note"), control), read: () => ({ note: control.value }) };
    }
    if (name === "public_update") {
      const fr = text("form-message-fr", true);
      const en = text("form-message-en");
      const list = (await templates(this.ctx)) || [];
      const items = (Array.isArray(list) ? list : list.items || []).filter((tpl) => !tpl.category || tpl.category === r.category.code);
      const chooser = h(
        "select",
        { id: "form-template" },
        h("option", { value: "" }, t("form.template_none")),
        items.map((tpl, index) => h("option", { value: index }, `${t(`status.${tpl.status}`)}${tpl.category ? ` (${tpl.category})` : ""}`)),
      );
      // The template's placeholders, filled as the notifications fill them.
      const fill = (text) =>
        (text || "")
          .replaceAll("{reference}", r.reference)
          .replaceAll("{desk}", named(r.desk) || r.desk?.code || "")
          .replaceAll("{category}", named(r.category));
      chooser.addEventListener("change", () => {
        const tpl = items[Number(chooser.value)];
        if (!tpl) return;
        fr.value = fill(tpl.text_fr);
        en.value = fill(tpl.text_en);
      });
      return {
        elements: [field("form-template", t("form.template"), chooser), field("form-message-fr", t("form.message_fr"), fr), field("form-message-en", t("form.message_en"), en)],
        read: () => ({ message: en.value.trim() ? { fr: fr.value, en: en.value } : { fr: fr.value } }),
      };
    }
    if (name === "publish_description") {
      const control = text("form-description", false, r.public_description ?? r.description ?? "");
      const withdraw = h("input", { id: "form-withdraw", type: "checkbox" });
      return {
        elements: [field("form-description", t("form.description"), control), h("div", { class: "field field--inline" }, withdraw, h("label", { for: "form-withdraw" }, t("form.withdraw")))],
        read: () => ({ description: withdraw.checked ? null : control.value }),
      };
    }
    if (name === "reopen") {
      const control = text("form-reopen", true);
      return { elements: field("form-reopen", t("form.reopen_reason"), control), read: () => ({ reason: control.value }) };
    }
    return { elements: [], read: () => ({}) };
  }

  async submit(name, body, status = null, version = null) {
    const shown = this.report;
    const key = idempotencyKey();
    this.busy = true;
    try {
      const answer = await this.ctx.api(`/v1/reports/${shown.id}/actions/${name.replace(/_/g, "-")}`, {
        method: "POST",
        body,
        ifMatch: etagOf(version ?? shown.version),
        headers: { "Idempotency-Key": key },
      });
      await this.load(answer.body);
      this.render();
      const done = t("ticket.done", { action: t(`action.${name}`) });
      this.notice(done);
      this.pane.querySelector("#ticket-title")?.focus();
      this.onChanged?.(this.report);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 412 && error.problem.current) {
        this.conflict(name, body, shown, error.problem.current);
      } else {
        const target = status || this.formArea;
        clear(target);
        target.append(problemBox(error, t));
      }
    } finally {
      this.busy = false;
    }
  }

  conflict(name, body, shown, current) {
    clear(this.formArea);
    const changed = WATCHED.filter((field) => fieldText(shown, field) !== fieldText(current, field));
    const box = h(
      "div",
      { class: "conflict", role: "alert", id: "conflict" },
      h("h4", {}, t("ticket.conflict_title")),
      h("p", {}, t("ticket.conflict_intro", { action: t(`action.${name}`) })),
      h(
        "table",
        { class: "data-table" },
        h("caption", { class: "visually-hidden" }, t("ticket.conflict_title")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("ticket.conflict_field")), h("th", { scope: "col" }, t("ticket.conflict_yours")), h("th", { scope: "col" }, t("ticket.conflict_now")))),
        h("tbody", {}, changed.map((field) => h("tr", {}, h("th", { scope: "row" }, t(`ticket.field.${field}`)), h("td", {}, fieldText(shown, field)), h("td", {}, fieldText(current, field))))),
      ),
      h(
        "div",
        { class: "form-buttons" },
        h(
          "button",
          {
            type: "button",
            class: "button button-primary",
            id: "conflict-redo",
            onclick: async () => {
              this.report = current;
              await this.submit(name, body, null, current.version);
            },
          },
          t("ticket.conflict_redo"),
        ),
        h(
          "button",
          {
            type: "button",
            class: "button",
            id: "conflict-drop",
            onclick: async () => {
              await this.load();
              this.render();
            },
          },
          t("ticket.conflict_drop"),
        ),
      ),
    );
    this.formArea.append(box);
    box.querySelector("#conflict-redo").focus();
  }
}
