// Personal data (the privacy officer, the CNIL correspondent; admins too): the register of
// processing activities generated from the code (GET /v1/privacy/register), the log of staff
// reads of personal data (GET /v1/audit/personal-data-reads), the retention schedule's runs
// and the residents' erasures. Read only. #/privacy/<section>, one section at a time.

import { clear, h, problemBox } from "../common/dom.js";
import { addTexts, formatDateTime, formatNumber, t } from "../common/i18n.js";

addTexts({
  fr: {
    "privacy.title": "Données personnelles",
    "privacy.sections": "Rubriques",
    "privacy.register": "Registre des traitements",
    "privacy.reads": "Journal des consultations",
    "privacy.runs": "Purges programmées",
    "privacy.erasures": "Effacements",
    "privacy.register_intro": "Registre des activités de traitement (article 30 du RGPD), produit à partir du code : chaque colonne de la base qui contient des données personnelles, ce qu’elle contient, pourquoi, sur quelle base légale, qui la voit, combien de temps elle est conservée (selon les délais configurés) et où elle peut sortir du système.",
    "privacy.tables": "Tables",
    "privacy.table_caption": "Table {table} : {count} colonne(s) de données personnelles",
    "privacy.column": "Colonne",
    "privacy.what": "Donnée",
    "privacy.purpose": "Finalité",
    "privacy.basis": "Base légale",
    "privacy.audience": "Qui la voit",
    "privacy.retention": "Conservation",
    "privacy.leaves": "Sortie du système",
    "privacy.stays": "Ne sort pas du système",
    "privacy.rules": "Calendrier de conservation",
    "privacy.rules_caption": "Règles appliquées chaque nuit, délais tels que configurés",
    "privacy.rule": "Règle",
    "privacy.rule_what": "Données",
    "privacy.rule_delay": "Délai",
    "privacy.rule_from": "Compté à partir de",
    "privacy.rule_reason": "Pourquoi",
    "privacy.days": "{days} j",
    "privacy.reads_intro": "Chaque consultation des coordonnées d’un auteur par le personnel, la plus récente d’abord.",
    "privacy.since": "Depuis le",
    "privacy.until": "Jusqu’au (exclu)",
    "privacy.actor": "Membre du personnel (uid)",
    "privacy.report": "Signalement (n°)",
    "privacy.filter": "Filtrer",
    "privacy.more": "Afficher la suite",
    "privacy.reads_caption": "Consultations de données personnelles",
    "privacy.at": "Quand",
    "privacy.role": "Rôle",
    "privacy.reference": "Signalement",
    "privacy.request": "Requête",
    "privacy.none": "Aucune entrée.",
    "privacy.runs_intro": "Chaque passage du calendrier de conservation, avec le nombre de lignes supprimées ou effacées par règle.",
    "privacy.runs_caption": "Passages du calendrier de conservation",
    "privacy.started": "Début",
    "privacy.finished": "Fin",
    "privacy.kind": "Nature",
    "privacy.dry_run": "À blanc (rien supprimé)",
    "privacy.real_run": "Réel",
    "privacy.running": "en cours",
    "privacy.counts": "Lignes par règle",
    "privacy.total": "Total",
    "privacy.error": "Erreur",
    "privacy.erasures_intro": "Chaque demande d’effacement d’un habitant (DELETE /v1/me) : ce qui a été supprimé et ce qui a été conservé, détaché de la personne. Rien n’y désigne l’habitant.",
    "privacy.erasures_caption": "Effacements demandés par des habitants",
    "privacy.deleted": "Supprimé",
    "privacy.detached": "Conservé, détaché",
    "privacy.nothing": "rien",
    "privacy.count": "{name} : {count}",
    "privacy.loaded": "{count} entrée(s) affichée(s).",
    "rule.contact_details": "Coordonnées",
    "rule.device_tokens": "Jetons d’appareils",
    "rule.notifications": "Notifications",
    "rule.personal_data_reads": "Journal des consultations",
    "rule.idempotency_keys": "Réponses rejouables",
    "kind.contacts": "coordonnées",
    "kind.devices": "appareils",
    "kind.notifications": "notifications",
    "kind.notification_preferences": "préférences",
    "kind.area_subscriptions": "secteurs suivis",
    "kind.follows": "suivis",
    "kind.unpublished_photos": "photos non publiées",
    "kind.idempotency_keys": "réponses rejouables",
    "kind.reports": "signalements",
    "kind.published_photos": "photos publiées",
    "kind.supports": "soutiens",
    "kind.actions": "actions",
  },
  en: {
    "privacy.title": "Personal data",
    "privacy.sections": "Sections",
    "privacy.register": "Register of processing",
    "privacy.reads": "Access log",
    "privacy.runs": "Retention runs",
    "privacy.erasures": "Erasures",
    "privacy.register_intro": "The register of processing activities (GDPR article 30), generated from the code: each database column holding personal data, what it holds, why, on which legal basis, who sees it, how long it is kept (by the configured delays) and where it may leave the system.",
    "privacy.tables": "Tables",
    "privacy.table_caption": "Table {table}: {count} column(s) of personal data",
    "privacy.column": "Column",
    "privacy.what": "Data",
    "privacy.purpose": "Purpose",
    "privacy.basis": "Legal basis",
    "privacy.audience": "Who sees it",
    "privacy.retention": "Kept",
    "privacy.leaves": "Leaves the system",
    "privacy.stays": "Does not leave the system",
    "privacy.rules": "Retention schedule",
    "privacy.rules_caption": "Rules applied every night, delays as configured",
    "privacy.rule": "Rule",
    "privacy.rule_what": "Data",
    "privacy.rule_delay": "Delay",
    "privacy.rule_from": "Counted from",
    "privacy.rule_reason": "Why",
    "privacy.days": "{days} d",
    "privacy.reads_intro": "Each read of an author's contact details by staff, newest first.",
    "privacy.since": "From",
    "privacy.until": "Until (excluded)",
    "privacy.actor": "Member of staff (uid)",
    "privacy.report": "Report (number)",
    "privacy.filter": "Filter",
    "privacy.more": "Show more",
    "privacy.reads_caption": "Reads of personal data",
    "privacy.at": "When",
    "privacy.role": "Role",
    "privacy.reference": "Report",
    "privacy.request": "Request",
    "privacy.none": "Nothing yet.",
    "privacy.runs_intro": "Each run of the retention schedule, with the rows deleted or cleared per rule.",
    "privacy.runs_caption": "Runs of the retention schedule",
    "privacy.started": "Started",
    "privacy.finished": "Finished",
    "privacy.kind": "Kind",
    "privacy.dry_run": "Dry run (nothing deleted)",
    "privacy.real_run": "Real",
    "privacy.running": "running",
    "privacy.counts": "Rows per rule",
    "privacy.total": "Total",
    "privacy.error": "Error",
    "privacy.erasures_intro": "Each erasure a resident asked for (DELETE /v1/me): what was deleted and what was kept, detached from the person. Nothing here names the resident.",
    "privacy.erasures_caption": "Erasures residents asked for",
    "privacy.deleted": "Deleted",
    "privacy.detached": "Kept, detached",
    "privacy.nothing": "nothing",
    "privacy.count": "{name}: {count}",
    "privacy.loaded": "{count} entries shown.",
    "rule.contact_details": "Contact details",
    "rule.device_tokens": "Device tokens",
    "rule.notifications": "Notifications",
    "rule.personal_data_reads": "Access log",
    "rule.idempotency_keys": "Replayable answers",
    "kind.contacts": "contact details",
    "kind.devices": "devices",
    "kind.notifications": "notifications",
    "kind.notification_preferences": "preferences",
    "kind.area_subscriptions": "areas watched",
    "kind.follows": "follows",
    "kind.unpublished_photos": "unpublished photos",
    "kind.idempotency_keys": "replayable answers",
    "kind.reports": "reports",
    "kind.published_photos": "published photos",
    "kind.supports": "supports",
    "kind.actions": "actions",
  },
});

const SECTIONS = ["register", "reads", "runs", "erasures"];
const LOADERS = { register: showRegister, reads: showReads, runs: showRuns, erasures: showErasures };
const PAGE = 50;

let state = null;

export async function render(root, ctx) {
  state = { ctx, root, section: null };
  await show(ctx.params.section);
}

export function update(params) {
  if (!state) return false;
  show(params.section);
  return true;
}

export function dispose() {
  state = null;
}

function named(key, code) {
  const text = t(`${key}.${code}`);
  return text === `${key}.${code}` ? code : text;
}

async function show(section) {
  const current = state;
  current.section = SECTIONS.includes(section) ? section : "register";
  clear(current.root);
  const title = h("h1", { id: "privacy-title", tabindex: "-1" }, t("privacy.title"), " — ", t(`privacy.${current.section}`));
  const tabs = h(
    "nav",
    { class: "privacy-sections", "aria-label": t("privacy.sections") },
    h(
      "ul",
      {},
      SECTIONS.map((name) =>
        h("li", {}, h("a", { href: `#/privacy/${name}`, "aria-current": name === current.section ? "page" : null, dataset: { section: name } }, t(`privacy.${name}`))),
      ),
    ),
  );
  const body = h("div", { id: "privacy-body" });
  current.root.append(h("div", { class: "privacy" }, title, tabs, body));
  document.title = `${t(`privacy.${current.section}`)} — ${t("app.title")}`;
  title.focus();
  try {
    await LOADERS[current.section](body, current);
  } catch (error) {
    if (state !== current) return;
    body.append(problemBox(error, t));
  }
}

// --- the register -------------------------------------------------------------------------

function list(items) {
  return items.length === 1 ? items[0].text : h("ul", { class: "privacy-list" }, items.map((item) => h("li", {}, item.text)));
}

async function showRegister(body, current) {
  const register = (await current.ctx.api("/v1/privacy/register")).body;
  if (state !== current) return;
  const contents = h(
    "nav",
    { class: "privacy-contents", "aria-labelledby": "privacy-tables-title" },
    h("h2", { id: "privacy-tables-title" }, t("privacy.tables")),
    h(
      "ul",
      {},
      register.tables.map((table) => h("li", {}, h("a", { href: `#/privacy/register`, dataset: { jump: table.table } }, h("code", {}, table.table)))),
      h("li", {}, h("a", { href: "#/privacy/register", dataset: { jump: "retention-rules" } }, t("privacy.rules"))),
    ),
  );
  // In-page links that keep the route: move to the table and focus its heading.
  contents.addEventListener("click", (event) => {
    const link = event.target.closest("[data-jump]");
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById(`register-${link.dataset.jump}`);
    target.focus();
    target.scrollIntoView();
  });
  body.append(h("p", { class: "privacy-intro" }, t("privacy.register_intro")), contents);
  for (const table of register.tables) {
    body.append(
      h(
        "section",
        { class: "panel privacy-table", dataset: { table: table.table }, "aria-labelledby": `register-${table.table}` },
        h("h2", { id: `register-${table.table}`, tabindex: "-1" }, h("code", {}, table.table)),
        table.description ? h("p", { class: "privacy-table__about" }, table.description) : null,
        h(
          "table",
          { class: "data-table register-table" },
          h("caption", { class: "visually-hidden" }, t("privacy.table_caption", { table: table.table, count: table.columns.length })),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["column", "what", "purpose", "basis", "audience", "retention", "leaves"].map((key) => h("th", { scope: "col", class: `register-${key}` }, t(`privacy.${key}`))),
            ),
          ),
          h(
            "tbody",
            {},
            table.columns.map((column) =>
              h(
                "tr",
                { dataset: { column: column.column } },
                h("th", { scope: "row" }, h("code", {}, column.column)),
                h("td", {}, column.what.text),
                h("td", {}, column.purpose.text),
                h("td", {}, column.basis.text),
                h("td", {}, list(column.audience)),
                h(
                  "td",
                  { dataset: { field: "retention" } },
                  column.retention.summary,
                  column.retention.setting ? [h("br"), h("code", { class: "register-setting" }, column.retention.setting)] : null,
                ),
                h("td", {}, column.leaves.length ? list(column.leaves) : h("span", { class: "hint" }, t("privacy.stays"))),
              ),
            ),
          ),
        ),
      ),
    );
  }
  body.append(
    h(
      "section",
      { class: "panel privacy-rules", "aria-labelledby": "register-retention-rules" },
      h("h2", { id: "register-retention-rules", tabindex: "-1" }, t("privacy.rules")),
      h(
        "table",
        { class: "data-table register-rules", id: "retention-rules" },
        h("caption", {}, t("privacy.rules_caption")),
        h(
          "thead",
          {},
          h("tr", {}, ["rule", "rule_what", "rule_delay", "rule_from", "rule_reason"].map((key) => h("th", { scope: "col" }, t(`privacy.${key}`)))),
        ),
        h(
          "tbody",
          {},
          register.retention_rules.map((rule) =>
            h(
              "tr",
              { dataset: { rule: rule.name } },
              h("th", { scope: "row" }, named("rule", rule.name), h("br"), h("code", { class: "hint" }, rule.setting)),
              h("td", {}, rule.what),
              h("td", { class: "number" }, t("privacy.days", { days: formatNumber(rule.days) })),
              h("td", {}, rule.counted_from),
              h("td", {}, rule.reason),
            ),
          ),
        ),
      ),
    ),
  );
}

// --- paged lists --------------------------------------------------------------------------

// A table filled page by page: `row(item)` draws one; "show more" fetches the next page.
async function pagedTable(body, current, { path, query = {}, caption, headings, row, id }) {
  const tbody = h("tbody", {});
  const table = h("table", { class: "data-table privacy-log", id }, h("caption", {}, caption), h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))), tbody);
  const more = h("button", { type: "button", class: "button", id: `${id}-more`, hidden: true }, t("privacy.more"));
  const status = h("p", { class: "visually-hidden", role: "status" });
  const problem = h("div", {});
  body.append(table, more, status, problem);
  let cursor = null;
  let shown = 0;
  async function next() {
    clear(problem);
    try {
      const page = (await current.ctx.api(path, { query: { ...query, limit: PAGE, cursor } })).body;
      if (state !== current) return;
      const first = tbody.children.length;
      for (const item of page.items) tbody.append(row(item));
      shown += page.items.length;
      if (!shown) tbody.append(h("tr", {}, h("td", { colspan: headings.length }, t("privacy.none"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = t("privacy.loaded", { count: shown });
      // After "show more", the first new row's cell takes the focus: the reader carries on.
      if (first && tbody.children[first]) {
        const cell = tbody.children[first].firstElementChild;
        cell.tabIndex = -1;
        cell.focus();
      }
    } catch (error) {
      if (state !== current) return;
      problem.append(problemBox(error, t));
    }
  }
  more.addEventListener("click", next);
  await next();
}

function isoDay(value) {
  return value ? new Date(`${value}T00:00:00`).toISOString() : null;
}

async function showReads(body, current) {
  const query = current.readsQuery || {};
  const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
  const since = h("input", { id: "reads-since", type: "date", value: query.sinceDay || "" });
  const until = h("input", { id: "reads-until", type: "date", value: query.untilDay || "" });
  const actor = h("input", { id: "reads-actor", type: "text", value: query.actor || "", autocomplete: "off" });
  const report = h("input", { id: "reads-report", type: "number", min: "1", value: query.report || "" });
  const form = h(
    "form",
    { class: "privacy-filters", id: "reads-filters" },
    field("reads-since", t("privacy.since"), since),
    field("reads-until", t("privacy.until"), until),
    field("reads-actor", t("privacy.actor"), actor),
    field("reads-report", t("privacy.report"), report),
    h("button", { type: "submit", class: "button button-primary" }, t("privacy.filter")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    current.readsQuery = { sinceDay: since.value, untilDay: until.value, actor: actor.value.trim(), report: report.value };
    show("reads");
  });
  body.append(h("p", { class: "privacy-intro" }, t("privacy.reads_intro")), form);
  await pagedTable(body, current, {
    path: "/v1/audit/personal-data-reads",
    id: "privacy-reads",
    query: { since: isoDay(query.sinceDay), until: isoDay(query.untilDay), actor: query.actor, report: query.report },
    caption: t("privacy.reads_caption"),
    headings: [t("privacy.at"), t("privacy.actor"), t("privacy.role"), t("privacy.reference"), t("privacy.request")],
    row: (read) =>
      h(
        "tr",
        { dataset: { read: read.id } },
        h("td", {}, formatDateTime(read.at)),
        h("td", {}, h("code", {}, read.actor_uid)),
        h("td", {}, named("role", read.actor_role)),
        h("td", {}, read.reference || `#${read.report_id}`),
        h("td", {}, read.request_id ? h("code", {}, read.request_id) : "—"),
      ),
  });
}

function counts(values, prefix) {
  const entries = Object.entries(values).filter(([, count]) => count > 0);
  if (!entries.length) return h("span", { class: "hint" }, t("privacy.nothing"));
  return h("ul", { class: "privacy-list" }, entries.map(([name, count]) => h("li", {}, t("privacy.count", { name: named(prefix, name), count: formatNumber(count) }))));
}

async function showRuns(body, current) {
  body.append(h("p", { class: "privacy-intro" }, t("privacy.runs_intro")));
  await pagedTable(body, current, {
    path: "/v1/privacy/retention-runs",
    id: "privacy-runs",
    caption: t("privacy.runs_caption"),
    headings: [t("privacy.started"), t("privacy.finished"), t("privacy.kind"), t("privacy.counts"), t("privacy.total"), t("privacy.error")],
    row: (run) =>
      h(
        "tr",
        { dataset: { run: run.id } },
        h("td", {}, formatDateTime(run.started_at)),
        h("td", {}, run.finished_at ? formatDateTime(run.finished_at) : t("privacy.running")),
        h("td", {}, run.dry_run ? t("privacy.dry_run") : t("privacy.real_run")),
        h("td", {}, counts(run.counts, "rule")),
        h("td", { class: "number", dataset: { figure: "total" } }, formatNumber(run.total)),
        h("td", {}, run.error ? h("span", { class: "problem" }, run.error) : "—"),
      ),
  });
}

async function showErasures(body, current) {
  body.append(h("p", { class: "privacy-intro" }, t("privacy.erasures_intro")));
  await pagedTable(body, current, {
    path: "/v1/privacy/erasures",
    id: "privacy-erasures",
    caption: t("privacy.erasures_caption"),
    headings: [t("privacy.at"), t("privacy.deleted"), t("privacy.detached"), t("privacy.request")],
    row: (erasure) =>
      h(
        "tr",
        { dataset: { erasure: erasure.id } },
        h("td", {}, formatDateTime(erasure.at)),
        h("td", { dataset: { field: "deleted" } }, counts(erasure.deleted, "kind")),
        h("td", { dataset: { field: "detached" } }, counts(erasure.detached, "kind")),
        h("td", {}, erasure.request_id ? h("code", {}, erasure.request_id) : "—"),
      ),
  });
}
