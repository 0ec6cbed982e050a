// A report's page (#/reports/<id>): its status, where, its desk, its photos and its public
// history; follow it or stop (its reporter is always told). GET /v1/reports/{id} gives the
// reporter their own fields too (what they wrote).

import { api } from "../common/api.js";
import { append, h, clear } from "../common/dom.js";
import { addTexts, formatDateTime, lang, named, t } from "../common/i18n.js";
import { isFollowed, setFollowed } from "./store.js";

// Appends what is given (nothing for null, arrays flattened).
const add = (parent, ...children) => append(parent, children);

addTexts({
  fr: {
    "page.title": "Signalement {reference}",
    "page.status": "État",
    "page.category": "Catégorie",
    "page.where": "Lieu",
    "page.desk": "Service",
    "page.supports": "Soutiens",
    "page.description": "Votre description",
    "page.public_description": "Description",
    "page.photos": "Photos",
    "page.photo_alt": "Photo {n} du signalement",
    "page.photo_processing": "{count} photo(s) en cours de traitement",
    "page.history": "Historique",
    "page.no_history": "Aucun événement public pour l’instant.",
    "page.follow": "Suivre ce signalement",
    "page.unfollow": "Ne plus suivre",
    "page.following": "Vous suivez ce signalement : vous serez informé de son avancement.",
    "page.not_following": "Vous ne suivez plus ce signalement.",
    "page.yours": "C’est votre signalement : vous êtes informé de son avancement.",
    "page.mine_link": "Mes signalements",
    "history.submit": "Signalé",
  },
  en: {
    "page.title": "Report {reference}",
    "page.status": "Status",
    "page.category": "Category",
    "page.where": "Place",
    "page.desk": "Service",
    "page.supports": "Supporters",
    "page.description": "Your description",
    "page.public_description": "Description",
    "page.photos": "Photos",
    "page.photo_alt": "Photo {n} of the report",
    "page.photo_processing": "{count} photo(s) being processed",
    "page.history": "History",
    "page.no_history": "No public event yet.",
    "page.follow": "Follow this report",
    "page.unfollow": "Stop following",
    "page.following": "You follow this report: you will be told how it goes.",
    "page.not_following": "You no longer follow this report.",
    "page.yours": "This is your report: you are told how it goes.",
    "page.mine_link": "My reports",
    "history.submit": "Reported",
  },
});

export async function render(root, ctx, id) {
  const [{ body: report }, { body: history }] = await Promise.all([
    api(`/v1/reports/${id}`),
    api(`/v1/reports/${id}/history`),
  ]);
  if (ctx.flash) {
    add(root, h("p", { class: "flash", role: "status", id: "flash" }, ctx.flash));
    ctx.flash = null;
  }
  const ready = (report.photos || []).filter((photo) => photo.status === "ready" && photo.url);
  const processing = (report.photos || []).filter((photo) => photo.status === "processing").length;
  add(root, 
    h("h1", {}, t("page.title", { reference: "" }), h("span", { class: "nowrap" }, report.reference)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("page.status")),
      h("dd", { id: "page-status" }, t(`status.${report.status}`)),
      h("dt", {}, t("page.category")),
      h("dd", {}, named(report.category)),
      h("dt", {}, t("page.where")),
      h("dd", {}, [report.address, report.commune?.name].filter(Boolean).join(", ") || "—"),
      h("dt", {}, t("page.desk")),
      h("dd", { id: "page-desk" }, report.desk ? named(report.desk) : "—"),
      h("dt", {}, t("page.supports")),
      h("dd", { id: "page-supports" }, String(report.support_count)),
    ),
  );
  if (report.is_mine && report.description) {
    add(root, h("h2", {}, t("page.description")), h("p", {}, report.description));
  } else if (report.public_description) {
    add(root, h("h2", {}, t("page.public_description")), h("p", {}, report.public_description));
  }
  if (ready.length || processing) {
    add(root, 
      h("h2", {}, t("page.photos")),
      h(
        "ul",
        { class: "photo-list", id: "page-photos" },
        ready.map((photo, index) =>
          h("li", { class: "photo" }, h("a", { href: photo.url }, h("img", { src: photo.thumbnail_url || photo.url, alt: t("page.photo_alt", { n: index + 1 }), class: "photo-thumb" }))),
        ),
      ),
      processing ? h("p", { class: "hint", id: "page-photos-processing" }, t("page.photo_processing", { count: processing })) : null,
    );
  }

  const followArea = h("div", { class: "follow", id: "follow" });
  async function drawFollow(message) {
    clear(followArea);
    if (report.is_mine) {
      followArea.append(h("p", {}, t("page.yours")));
      return;
    }
    const following = await isFollowed(report.id);
    if (message) followArea.append(h("p", { role: "status" }, message));
    followArea.append(
      h(
        "button",
        {
          type: "button",
          class: following ? "button" : "button button-primary",
          id: "follow-button",
          "aria-pressed": following ? "true" : "false",
          onclick: async () => {
            try {
              await api(`/v1/reports/${report.id}/follow`, { method: following ? "DELETE" : "POST" });
            } catch (error) {
              followArea.append(ctx.problem(error));
              return;
            }
            await setFollowed(report.id, !following);
            await drawFollow(following ? t("page.not_following") : t("page.following"));
            followArea.querySelector("button")?.focus();
          },
        },
        following ? t("page.unfollow") : t("page.follow"),
      ),
    );
  }
  await drawFollow();
  add(root, followArea);

  const items = history.items || [];
  add(root, 
    h("h2", {}, t("page.history")),
    items.length
      ? h(
          "ol",
          { class: "history", id: "page-history" },
          items.map((event) =>
            h(
              "li",
              { "data-action": event.action },
              h("p", { class: "history-head" }, h("time", { datetime: event.at }, formatDateTime(event.at)), " — ", event.id === 0 ? t("history.submit") : t(`status.${event.to_status}`)),
              event.desk ? h("p", { class: "hint" }, named(event.desk)) : null,
              event.message ? h("p", {}, event.message[lang()] || event.message.fr) : null,
            ),
          ),
        )
      : h("p", {}, t("page.no_history")),
    h("p", {}, h("a", { href: "#/mine" }, t("page.mine_link"))),
  );
}
