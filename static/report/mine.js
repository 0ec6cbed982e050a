// "Mes signalements" (GET /v1/me/reports): the resident's reports, newest first, each with
// its status and the desk handling it; the next page on demand.

import { api } from "../common/api.js";
import { h } from "../common/dom.js";
import { addTexts, formatDate, named, t } from "../common/i18n.js";

addTexts({
  fr: {
    "mine.title": "Mes signalements",
    "mine.none": "Vous n’avez encore rien signalé depuis ce téléphone.",
    "mine.report": "Signaler un problème",
    "mine.desk": "Service : {desk}",
    "mine.no_desk": "Service : en cours d’attribution",
    "mine.more": "Afficher plus",
  },
  en: {
    "mine.title": "My reports",
    "mine.none": "You have not reported anything from this phone yet.",
    "mine.report": "Report a problem",
    "mine.desk": "Service: {desk}",
    "mine.no_desk": "Service: being assigned",
    "mine.more": "Show more",
  },
});

function item(report) {
  return h(
    "li",
    { class: "report-item", "data-report-id": report.id },
    h("p", { class: "report-item__title" }, h("a", { href: `#/reports/${report.id}` }, `${report.reference} — ${named(report.category)}`)),
    h("p", {}, h("span", { class: `status status--${report.status}` }, t(`status.${report.status}`)), " · ", formatDate(report.created_at)),
    h("p", { class: "report-item__desk" }, report.desk ? t("mine.desk", { desk: named(report.desk) }) : t("mine.no_desk")),
  );
}

export async function render(root) {
  const list = h("ul", { class: "report-list", id: "my-reports" });
  root.append(h("h1", {}, t("mine.title")), list);
  const more = h("button", { type: "button", class: "button", id: "mine-more", hidden: true }, t("mine.more"));
  let cursor = null;
  async function load() {
    const { body } = await api("/v1/me/reports", { query: { cursor, limit: 20 } });
    for (const report of body.items) list.append(item(report));
    cursor = body.next_cursor;
    more.hidden = !cursor;
    return body.items.length;
  }
  more.addEventListener("click", load);
  const count = await load();
  if (!count) root.append(h("p", { id: "mine-none" }, t("mine.none"), " ", h("a", { href: "#/" }, t("mine.report"))));
  root.append(more);
}
