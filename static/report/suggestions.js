// Step 4, "is it one of these?": open reports of the same category within 250 m (GET
// /v1/reports/suggestions). The resident may support one instead of sending theirs (POST
// /v1/reports/{id}/support: counted once, and they follow it); their draft is then dropped.
// Or they send their own.

import { api } from "../common/api.js";
import { append, h, clear } from "../common/dom.js";
import { addTexts, formatDate, formatNumber, named, t } from "../common/i18n.js";
import { dropDraft, setFollowed } from "./store.js";
import { backButton } from "./wizard.js";

// Appends what is given (nothing for null, arrays flattened).
const add = (parent, ...children) => append(parent, children);

addTexts({
  fr: {
    "suggest.title": "Est-ce l’un de ces signalements ?",
    "suggest.intro": "Ces problèmes de la même catégorie ont déjà été signalés tout près. Si le vôtre en fait partie, soutenez-le plutôt : il sera traité plus vite et vous serez informé de son avancement.",
    "suggest.none": "Aucun signalement semblable à proximité.",
    "suggest.distance": "à {distance} m",
    "suggest.supports": "{count} soutien(s)",
    "suggest.since": "signalé le {date}",
    "suggest.support": "C’est celui-ci : le soutenir",
    "suggest.supported": "Merci : votre soutien est compté et vous suivez ce signalement.",
    "suggest.send": "Envoyer mon signalement",
    "suggest.send_anyway": "Aucun ne correspond : envoyer mon signalement",
    "suggest.summary": "Votre signalement",
    "suggest.photos": "{count} photo(s)",
  },
  en: {
    "suggest.title": "Is it one of these?",
    "suggest.intro": "These problems of the same category were already reported close by. If yours is one of them, support it instead: it will be dealt with sooner and you will be told how it goes.",
    "suggest.none": "No similar report close by.",
    "suggest.distance": "{distance} m away",
    "suggest.supports": "{count} supporter(s)",
    "suggest.since": "reported on {date}",
    "suggest.support": "This is it: support it",
    "suggest.supported": "Thank you: your support counts and you follow this report.",
    "suggest.send": "Send my report",
    "suggest.send_anyway": "None of these: send my report",
    "suggest.summary": "Your report",
    "suggest.photos": "{count} photo(s)",
  },
});

export async function render(root, ctx, draft, steps) {
  await ctx.categories();
  const category = ctx.category(draft.category);
  const { body } = await api("/v1/reports/suggestions", {
    query: { lon: draft.location.lon, lat: draft.location.lat, category: draft.category },
  });
  const result = h("div", { id: "suggest-result" });
  const items = body.items || [];
  add(root, h("h1", {}, items.length ? t("suggest.title") : t("suggest.send")));
  add(root, 
    h(
      "section",
      { class: "summary", "aria-labelledby": "summary-title" },
      h("h2", { id: "summary-title" }, t("suggest.summary")),
      h(
        "p",
        {},
        [named(category), draft.commune?.name, draft.photos.length ? t("suggest.photos", { count: draft.photos.length }) : null].filter(Boolean).join(" · "),
      ),
      draft.description ? h("p", { class: "summary-description" }, draft.description) : null,
    ),
  );
  if (items.length) {
    add(root, 
      h("p", { class: "intro" }, t("suggest.intro")),
      h(
        "ul",
        { class: "suggestions", id: "suggestions" },
        items.map((item) => {
          const thumb = (item.photos || []).find((p) => p.thumbnail_url);
          return h(
            "li",
            { class: "suggestion", "data-report-id": item.id },
            thumb ? h("img", { src: thumb.thumbnail_url, alt: "", class: "suggestion-thumb" }) : null,
            h(
              "div",
              { class: "suggestion-text" },
              h("p", { class: "suggestion-title" }, h("a", { href: `#/reports/${item.id}` }, item.reference), ` — ${t(`status.${item.status}`)}`),
              h("p", {}, [item.address, t("suggest.distance", { distance: formatNumber(Math.round(item.distance_m)) })].filter(Boolean).join(" · ")),
              item.public_description ? h("p", {}, item.public_description) : null,
              h("p", { class: "hint" }, [t("suggest.since", { date: formatDate(item.created_at) }), t("suggest.supports", { count: item.support_count })].join(" · ")),
              h(
                "button",
                {
                  type: "button",
                  class: "button",
                  "data-support": item.id,
                  onclick: async (event) => {
                    const button = event.currentTarget;
                    button.disabled = true;
                    clear(result);
                    try {
                      await api(`/v1/reports/${item.id}/support`, { method: "POST" });
                    } catch (error) {
                      button.disabled = false;
                      result.append(ctx.problem(error));
                      return;
                    }
                    await setFollowed(item.id, true);
                    await dropDraft();
                    ctx.flash = t("suggest.supported");
                    ctx.go(`#/reports/${item.id}`);
                  },
                },
                t("suggest.support"),
              ),
            ),
          );
        }),
      ),
    );
  } else {
    add(root, h("p", { id: "suggest-none" }, t("suggest.none")));
  }
  add(root, 
    result,
    h(
      "div",
      { class: "step-buttons" },
      backButton(steps),
      h("button", { type: "button", class: "button button-primary", id: "send", onclick: () => steps.send() }, items.length ? t("suggest.send_anyway") : t("suggest.send")),
    ),
  );
}
