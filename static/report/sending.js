// Sending the draft: POST /v1/reports with the draft's Idempotency-Key, then each photo with
// its own key. Every answer is written to the draft as it comes, so a reload at any moment
// resumes where it stopped: the same key again gets the same report back (Idempotent-
// Replayed), never a second one; a photo already accepted is not sent again. The draft is
// dropped only once the report and all its photos are in. A refusal is shown as the API
// wrote it, and the draft stays as it was.

import { api, authHeaders, ApiProblem } from "../common/api.js";
import { h, clear } from "../common/dom.js";
import { addTexts, lang, t } from "../common/i18n.js";
import { dropDraft, saveDraft } from "./store.js";

addTexts({
  fr: {
    "sending.title": "Envoi de votre signalement",
    "sending.report": "Envoi du signalement…",
    "sending.photo": "Envoi de la photo {n} sur {total}…",
    "sending.failed": "L’envoi n’a pas abouti. Votre signalement est gardé sur ce téléphone.",
    "sending.retry": "Réessayer l’envoi",
    "sending.edit": "Modifier le signalement",
  },
  en: {
    "sending.title": "Sending your report",
    "sending.report": "Sending the report…",
    "sending.photo": "Sending photo {n} of {total}…",
    "sending.failed": "Sending did not go through. Your report is kept on this phone.",
    "sending.retry": "Try sending again",
    "sending.edit": "Change the report",
  },
});

const IN_PROGRESS_RETRIES = 20;
// Where the resident changes what the API refused (the rest: the details step).
const STEP_TO_CHANGE = { outside_service_area: "place", unknown_category: "category" };

// The request as first sent, kept in the draft: a retry sends the very same body (the key's
// fingerprint), whatever the page's language or the draft's fields became meanwhile.
function bodyOf(draft) {
  const contact = draft.contact || {};
  const given = (value) => (value && value.trim() ? value.trim() : null);
  const body = {
    category: draft.category,
    location: { lon: draft.location.lon, lat: draft.location.lat },
    answers: draft.answers || {},
    description: given(draft.description || ""),
    address: given(draft.address || ""),
    language: lang(),
  };
  if (draft.location.accuracy_m) body.location.accuracy_m = draft.location.accuracy_m;
  if (given(contact.name) || given(contact.email) || given(contact.phone)) {
    body.contact = {
      name: given(contact.name),
      email: given(contact.email),
      phone: given(contact.phone),
      by_email: Boolean(given(contact.email)),
    };
  }
  return body;
}

const pause = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

async function submitReport(draft) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return (await api("/v1/reports", { method: "POST", body: draft.body, headers: { "Idempotency-Key": draft.key } })).body;
    } catch (error) {
      // The same key still being answered (an earlier try, before a reload): wait for it.
      if (error.code === "idempotency_in_progress" && attempt < IN_PROGRESS_RETRIES) {
        await pause(1000);
        continue;
      }
      throw error;
    }
  }
}

async function uploadPhoto(reportId, photo) {
  const form = new FormData();
  form.append("file", photo.blob, photo.name || "photo.jpg");
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(`/v1/reports/${reportId}/photos?kind=report`, {
        method: "POST",
        headers: { ...(await authHeaders()), Accept: "application/json", "Idempotency-Key": photo.key },
        body: form,
      });
    } catch (error) {
      throw new ApiProblem(0, { code: "network_unreachable", detail: String(error) });
    }
    const data = await response.json().catch(() => null);
    if (response.status < 400) return data;
    const problem = new ApiProblem(response.status, data);
    if (problem.code === "idempotency_in_progress" && attempt < IN_PROGRESS_RETRIES) {
      await pause(1000);
      continue;
    }
    throw problem;
  }
}

// One sending at a time in this page; a screen drawn again (a language switch) shows it.
let running = false;
const view = { progress: null, result: null };

export async function render(root, ctx, draft) {
  view.progress = h("p", { id: "sending-progress", "aria-live": "polite" }, t("sending.report"));
  view.result = h("div", { id: "sending-result" });
  root.append(h("h1", {}, t("sending.title")), view.progress, view.result);
  if (running) return;
  running = true;
  // Sent once the screen is in the page (the route attaches it when render returns).
  window.setTimeout(() => send(ctx, draft).finally(() => (running = false)), 0);
}

async function send(ctx, draft) {
  const say = (text) => (view.progress.textContent = text);
  try {
    if (!draft.report) {
      if (!draft.body) {
        draft.body = bodyOf(draft);
        await saveDraft(draft);
      }
      say(t("sending.report"));
      draft.report = await submitReport(draft);
      await saveDraft(draft);
    }
    const total = draft.photos.length;
    for (const [index, photo] of draft.photos.entries()) {
      if (photo.uploaded) continue;
      say(t("sending.photo", { n: index + 1, total }));
      await uploadPhoto(draft.report.id, photo);
      photo.uploaded = true;
      photo.blob = null; // in the API now: no need to keep it here
      await saveDraft(draft);
    }
  } catch (error) {
    await failed(ctx, draft, error);
    return;
  }
  const id = draft.report.id;
  await dropDraft();
  ctx.go(`#/sent/${id}`);
}

async function failed(ctx, draft, error) {
  const { progress, result } = view;
  progress.textContent = t("sending.failed");
  const refused = !draft.report && error.status >= 400 && error.status < 500 && error.code !== "idempotency_in_progress";
  if (refused) {
    // Refused as it is (outside the area, an answer...): nothing was created; the resident
    // changes the draft and sends it again (a new body, the same key: the key was not used).
    draft.sending = false;
    draft.body = null;
    await saveDraft(draft);
  }
  clear(result);
  result.append(
    ctx.problem(error),
    h(
      "div",
      { class: "step-buttons" },
      refused
        ? h(
            "button",
            {
              type: "button",
              class: "button",
              id: "sending-edit",
              onclick: async () => {
                draft.step = STEP_TO_CHANGE[error.code] || "details";
                if (error.code === "unknown_category") ctx.catalogue = null; // read it again
                await saveDraft(draft);
                ctx.go("#/");
              },
            },
            t("sending.edit"),
          )
        : null,
      h(
        "button",
        {
          type: "button",
          class: "button button-primary",
          id: "sending-retry",
          onclick: async () => {
            draft.sending = true;
            await saveDraft(draft);
            clear(result);
            if (running) return;
            running = true;
            send(ctx, draft).finally(() => (running = false));
          },
        },
        t("sending.retry"),
      ),
    ),
  );
  result.querySelector("button")?.focus();
  if (error.code === "network_unreachable") {
    // Back online: sent again by itself, with the same keys.
    window.addEventListener("online", () => result.querySelector("#sending-retry")?.click(), { once: true });
  }
}
