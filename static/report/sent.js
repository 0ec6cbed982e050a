// After sending: the report's reference, the desk that handles it, and the way to its page.

import { api } from "../common/api.js";
import { append, h } from "../common/dom.js";
import { addTexts, named, t } from "../common/i18n.js";

// Appends what is given (nothing for null, arrays flattened).
const add = (parent, ...children) => append(parent, children);

addTexts({
  fr: {
    "sent.title": "Signalement envoyé, merci !",
    "sent.reference": "Référence",
    "sent.desk": "Service qui le traite",
    "sent.no_desk": "en cours d’attribution",
    "sent.duplicate": "Ce problème avait déjà été signalé ({reference}) : votre signalement y est joint, et vous en suivez l’avancement.",
    "sent.follow_up": "Vous serez informé de son avancement dans vos notifications.",
    "sent.page": "Voir la page du signalement",
    "sent.another": "Faire un autre signalement",
    "sent.mine": "Mes signalements",
  },
  en: {
    "sent.title": "Report sent, thank you!",
    "sent.reference": "Reference",
    "sent.desk": "Service handling it",
    "sent.no_desk": "being assigned",
    "sent.duplicate": "This problem was already reported ({reference}): your report joins it, and you follow how it goes.",
    "sent.follow_up": "You will be told how it goes in your notifications.",
    "sent.page": "See the report's page",
    "sent.another": "Make another report",
    "sent.mine": "My reports",
  },
});

export async function render(root, ctx, id) {
  const { body: report } = await api(`/v1/reports/${id}`);
  add(root, 
    h("h1", {}, t("sent.title")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("sent.reference")),
      h("dd", { id: "sent-reference", class: "reference" }, report.reference),
      h("dt", {}, t("sent.desk")),
      h("dd", { id: "sent-desk" }, report.desk ? named(report.desk) : t("sent.no_desk")),
    ),
    report.duplicate_of ? h("p", {}, t("sent.duplicate", { reference: report.duplicate_of.reference })) : null,
    h("p", {}, t("sent.follow_up")),
    h(
      "ul",
      { class: "links" },
      h("li", {}, h("a", { href: `#/reports/${report.id}`, id: "sent-page" }, t("sent.page"))),
      h("li", {}, h("a", { href: "#/mine" }, t("sent.mine"))),
      h("li", {}, h("a", { href: "#/" }, t("sent.another"))),
    ),
  );
}
