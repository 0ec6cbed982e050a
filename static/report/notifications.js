// The in-app notification feed (GET /v1/me/notifications): newest first, the unread ones
// marked, each read with one tap (or all at once). Web push is not offered by this page.

import { api } from "../common/api.js";
import { h, clear } from "../common/dom.js";
import { addTexts, formatDateTime, t } from "../common/i18n.js";

addTexts({
  fr: {
    "notif.title": "Notifications",
    "notif.unread": "{count} non lue(s)",
    "notif.none": "Aucune notification pour l’instant. Vous serez informé ici de l’avancement de vos signalements et de ceux que vous suivez.",
    "notif.new": "Non lue",
    "notif.read": "Marquer comme lue",
    "notif.read_all": "Tout marquer comme lu",
    "notif.open": "Voir le signalement {reference}",
    "notif.more": "Afficher plus",
  },
  en: {
    "notif.title": "Notifications",
    "notif.unread": "{count} unread",
    "notif.none": "No notification yet. You will be told here how your reports and those you follow go.",
    "notif.new": "Unread",
    "notif.read": "Mark as read",
    "notif.read_all": "Mark all as read",
    "notif.open": "See report {reference}",
    "notif.more": "Show more",
  },
});

export async function render(root, ctx) {
  const list = h("ul", { class: "notification-list", id: "notifications" });
  const counter = h("p", { id: "notif-unread", "aria-live": "polite" });
  const result = h("div", {});
  const readAll = h("button", { type: "button", class: "button", id: "notif-read-all" }, t("notif.read_all"));
  const more = h("button", { type: "button", class: "button", id: "notif-more", hidden: true }, t("notif.more"));
  let cursor = null;

  function showUnread(count) {
    ctx.unread = count;
    counter.textContent = t("notif.unread", { count });
    readAll.hidden = !count;
    ctx.drawHeader();
  }

  function item(notification) {
    const unread = !notification.read_at;
    const li = h(
      "li",
      { class: `notification${unread ? " notification--unread" : ""}`, "data-notification-id": notification.id },
      h("p", { class: "notification__title" }, unread ? h("span", { class: "badge badge--new" }, t("notif.new")) : null, notification.title),
      h("p", {}, notification.body),
      h("p", { class: "hint" }, h("time", { datetime: notification.created_at }, formatDateTime(notification.created_at))),
      notification.data?.report_id
        ? h("p", {}, h("a", { href: `#/reports/${notification.data.report_id}` }, t("notif.open", { reference: notification.data.reference || notification.data.report_id })))
        : null,
    );
    if (unread) {
      const button = h(
        "button",
        {
          type: "button",
          class: "button button-small",
          "data-read": notification.id,
          onclick: async () => {
            try {
              await api(`/v1/me/notifications/${notification.id}/read`, { method: "POST" });
            } catch (error) {
              clear(result);
              result.append(ctx.problem(error));
              return;
            }
            li.classList.remove("notification--unread");
            li.querySelector(".badge--new")?.remove();
            button.remove();
            showUnread(Math.max(0, (ctx.unread || 1) - 1));
          },
        },
        t("notif.read"),
      );
      li.append(button);
    }
    return li;
  }

  async function load() {
    const { body } = await api("/v1/me/notifications", { query: { cursor, limit: 20 } });
    for (const notification of body.items) list.append(item(notification));
    cursor = body.next_cursor;
    more.hidden = !cursor;
    showUnread(body.unread_count);
    return body.items.length;
  }

  readAll.addEventListener("click", async () => {
    clear(result);
    let answer;
    try {
      answer = (await api("/v1/me/notifications/read-all", { method: "POST", body: {} })).body;
    } catch (error) {
      result.append(ctx.problem(error));
      return;
    }
    for (const li of list.querySelectorAll(".notification--unread")) {
      li.classList.remove("notification--unread");
      li.querySelector(".badge--new")?.remove();
      li.querySelector("[data-read]")?.remove();
    }
    showUnread(answer.unread_count);
  });
  more.addEventListener("click", load);

  root.append(h("h1", {}, t("notif.title")), counter, readAll, result, list);
  const count = await load();
  if (!count) root.append(h("p", { id: "notif-none" }, t("notif.none")));
  root.append(more);
}
