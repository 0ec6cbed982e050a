// Step 2, the category: the catalogue's groups, each category with its icon and its hint.
// Choosing one goes on to its questions, where its urgent notice (if any) comes first.

import { h } from "../common/dom.js";
import { addTexts, lang, named, t } from "../common/i18n.js";
import { iconUrl } from "./icons.js";
import { backButton } from "./wizard.js";

addTexts({
  fr: {
    "category.title": "Quel est le problème ?",
    "category.intro": "Choisissez la catégorie qui correspond le mieux.",
    "category.urgent": "Urgent : appelez",
  },
  en: {
    "category.title": "What is the problem?",
    "category.intro": "Choose the category that fits best.",
    "category.urgent": "Urgent: call",
  },
});

export function hintOf(category) {
  return (lang() === "en" ? category.hint_en : category.hint_fr) || category.hint_fr || "";
}

export async function render(root, ctx, draft, steps) {
  const catalogue = await ctx.categories();
  root.append(h("h1", {}, t("category.title")), h("p", { class: "intro" }, t("category.intro")));
  for (const group of catalogue.groups) {
    const headingId = `group-${group.code}`;
    root.append(
      h("h2", { id: headingId, class: "category-group" }, named(group)),
      h(
        "ul",
        { class: "category-list", "aria-labelledby": headingId },
        group.categories.map((category) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: `category-choice${draft.category === category.code ? " category-choice--chosen" : ""}`,
                "data-category": category.code,
                "aria-pressed": draft.category === category.code ? "true" : "false",
                onclick: async () => {
                  if (draft.category !== category.code) draft.answers = {};
                  draft.category = category.code;
                  await steps.next();
                },
              },
              h("img", { src: iconUrl(category.icon), alt: "", class: "category-icon", width: 32, height: 32 }),
              h(
                "span",
                { class: "category-text" },
                h("span", { class: "category-name" }, named(category)),
                hintOf(category) ? h("span", { class: "category-hint" }, hintOf(category)) : null,
                category.urgent_phone ? h("span", { class: "category-urgent" }, `${t("category.urgent")} ${category.urgent_phone}`) : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
  root.append(h("div", { class: "step-buttons" }, backButton(steps)));
}
