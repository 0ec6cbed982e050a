// The report being written, step by step as FixMyStreet made the norm: the place, the
// category, its questions with photos and a description, then "is it one of these?" and
// sending. The draft lives in IndexedDB (store.js) from its first step, with the one
// Idempotency-Key its report will be sent with: a reload finds it at the same step, and a
// reload while sending resumes the sending.

import { h, idempotencyKey } from "../common/dom.js";
import { addTexts, t } from "../common/i18n.js";
import { loadDraft, saveDraft } from "./store.js";
import * as place from "./place.js";
import * as category from "./category.js";
import * as details from "./details.js";
import * as suggestions from "./suggestions.js";
import * as sending from "./sending.js";

addTexts({
  fr: {
    "wizard.step": "Étape {n} sur {total}",
    "wizard.back": "Retour",
    "wizard.next": "Continuer",
  },
  en: {
    "wizard.step": "Step {n} of {total}",
    "wizard.back": "Back",
    "wizard.next": "Continue",
  },
});

export const STEPS = { place, category, details, suggestions };
const ORDER = ["place", "category", "details", "suggestions"];

export function newDraft() {
  return {
    key: idempotencyKey(), // the report's Idempotency-Key, for every try until its 201
    step: "place",
    location: null,
    commune: null,
    category: null,
    answers: {},
    description: "",
    contact: { name: "", email: "", phone: "" },
    photos: [], // {key (its upload's Idempotency-Key), blob, name, type, uploaded}
    body: null, // the request as first sent: every retry sends it again, unchanged
    report: null, // the API's 201
    sending: false,
  };
}

export async function currentDraft() {
  const draft = await loadDraft();
  if (draft) return draft;
  const fresh = newDraft();
  await saveDraft(fresh);
  return fresh;
}

export async function render(root, ctx) {
  const draft = await currentDraft();
  if (draft.sending || draft.report) return sending.render(root, ctx, draft);
  const step = STEPS[draft.step] ? draft.step : "place";
  const moveTo = async (next) => {
    draft.step = next;
    await saveDraft(draft);
    ctx.go("#/");
  };
  const n = ORDER.indexOf(step) + 1;
  root.append(h("p", { class: "wizard-step", id: "wizard-step" }, t("wizard.step", { n, total: ORDER.length })));
  await STEPS[step].render(root, ctx, draft, {
    save: () => saveDraft(draft),
    next: () => moveTo(ORDER[ORDER.indexOf(step) + 1]),
    back: () => moveTo(ORDER[Math.max(0, ORDER.indexOf(step) - 1)]),
    send: async () => {
      draft.sending = true;
      await saveDraft(draft);
      ctx.go("#/");
    },
  });
}

// "Back" for a step: a button to the previous one.
export function backButton(steps) {
  return h("button", { type: "button", class: "button", id: "step-back", onclick: () => steps.back() }, t("wizard.back"));
}
