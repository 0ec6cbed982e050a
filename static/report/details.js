// Step 3, the details: the category's urgent notice first (with its phone number to call),
// then its questions, up to five photos (previewed, removable), a description, and contact
// details the resident may leave for the desk. Everything is kept in the draft as typed.

import { append, h, clear, idempotencyKey } from "../common/dom.js";
import { addTexts, lang, named, t } from "../common/i18n.js";
import { iconUrl } from "./icons.js";
import { backButton } from "./wizard.js";

// The API's limit (app/reports/photos.py MAX_PHOTOS): five photos of a report.
export const MAX_PHOTOS = 5;

// Appends what is given (nothing for null, arrays flattened).
const add = (parent, ...children) => append(parent, children);

addTexts({
  fr: {
    "details.title": "Précisez le problème",
    "details.urgent_title": "Urgence",
    "details.call": "Appeler le {phone}",
    "details.questions": "Questions",
    "details.required": "(obligatoire)",
    "details.yes": "Oui",
    "details.no": "Non",
    "details.photos": "Photos",
    "details.photos_hint": "Jusqu’à {max} photos. Elles aident l’équipe à trouver et comprendre le problème.",
    "details.photo_required": "Une photo au moins est demandée pour cette catégorie.",
    "details.add_photo": "Ajouter des photos",
    "details.photo_alt": "Photo {n} ajoutée",
    "details.remove_photo": "Retirer la photo {n}",
    "details.photos_full": "Vous avez ajouté {max} photos, le maximum.",
    "details.photos_dropped": "{count} photo(s) non ajoutée(s) : {max} au plus.",
    "details.description": "Description (facultatif)",
    "details.description_hint": "Ce que vous voyez, depuis quand, ce qui est gêné ou dangereux.",
    "details.contact": "Vos coordonnées (facultatif)",
    "details.contact_hint": "Seul le service qui traite votre signalement les voit, pour vous recontacter si besoin. Elles ne sont jamais publiées.",
    "details.name": "Nom",
    "details.email": "Adresse électronique (pour être informé par e-mail)",
    "details.phone": "Téléphone",
    "details.missing": "Répondez aux questions obligatoires : {questions}.",
  },
  en: {
    "details.title": "Tell us more",
    "details.urgent_title": "Emergency",
    "details.call": "Call {phone}",
    "details.questions": "Questions",
    "details.required": "(required)",
    "details.yes": "Yes",
    "details.no": "No",
    "details.photos": "Photos",
    "details.photos_hint": "Up to {max} photos. They help the crew find and understand the problem.",
    "details.photo_required": "This category asks for at least one photo.",
    "details.add_photo": "Add photos",
    "details.photo_alt": "Photo {n} added",
    "details.remove_photo": "Remove photo {n}",
    "details.photos_full": "You added {max} photos, the maximum.",
    "details.photos_dropped": "{count} photo(s) not added: {max} at most.",
    "details.description": "Description (optional)",
    "details.description_hint": "What you see, since when, what is blocked or dangerous.",
    "details.contact": "Your contact details (optional)",
    "details.contact_hint": "Only the service handling your report sees them, to call you back if needed. They are never published.",
    "details.name": "Name",
    "details.email": "E-mail address (to be told by e-mail)",
    "details.phone": "Phone",
    "details.missing": "Answer the required questions: {questions}.",
  },
});

function label(question) {
  return (lang() === "en" ? question.label_en : question.label_fr) || question.label_fr;
}

export function urgentNotice(category) {
  const notice = (lang() === "en" ? category.urgent_notice_en : category.urgent_notice_fr) || category.urgent_notice_fr;
  if (!notice && !category.urgent_phone) return null;
  const phone = category.urgent_phone;
  return h(
    "section",
    { class: "urgent-notice", id: "urgent-notice", role: "alert", "aria-labelledby": "urgent-title" },
    h("h2", { id: "urgent-title" }, t("details.urgent_title")),
    notice ? h("p", {}, notice) : null,
    phone ? h("p", {}, h("a", { class: "button button-danger urgent-call", href: `tel:${phone.replace(/[^+0-9]/g, "")}`, id: "urgent-call" }, t("details.call", { phone }))) : null,
  );
}

function questionField(question, draft, save) {
  const id = `q-${question.code}`;
  const value = draft.answers[question.code];
  const set = (answer) => {
    if (answer === null || answer === "" || (Array.isArray(answer) && !answer.length)) delete draft.answers[question.code];
    else draft.answers[question.code] = answer;
    save();
  };
  const legend = [label(question), question.required ? ` ${t("details.required")}` : ""];
  if (question.type === "single_choice" || question.type === "boolean" || question.type === "multiple_choice") {
    const options =
      question.type === "boolean"
        ? [
            { key: true, text: t("details.yes") },
            { key: false, text: t("details.no") },
          ]
        : (question.choices || []).map((choice) => ({ key: choice.key, text: named(choice) }));
    const multiple = question.type === "multiple_choice";
    return h(
      "fieldset",
      { class: "question", id, "data-question": question.code },
      h("legend", {}, legend),
      options.map((option, index) => {
        const inputId = `${id}-${index}`;
        const checked = multiple ? (value || []).includes(option.key) : value === option.key;
        const input = h("input", {
          type: multiple ? "checkbox" : "radio",
          name: id,
          id: inputId,
          value: String(option.key),
          checked,
          required: question.required && !multiple,
          onchange: () => {
            if (!multiple) return set(option.key);
            const chosen = new Set(draft.answers[question.code] || []);
            if (input.checked) chosen.add(option.key);
            else chosen.delete(option.key);
            set([...chosen]);
          },
        });
        return h("div", { class: "choice" }, input, h("label", { for: inputId }, option.text));
      }),
    );
  }
  const number = question.type === "number";
  const input = h(number ? "input" : "textarea", {
    id,
    name: id,
    type: number ? "number" : null,
    inputmode: number ? "decimal" : null,
    min: question.min ?? null,
    max: question.max ?? null,
    step: number ? "any" : null,
    maxlength: number ? null : question.max_length || 2000,
    rows: number ? null : 2,
    required: question.required,
    "data-question": question.code,
  });
  input.value = value ?? "";
  input.addEventListener("change", () => {
    const text = input.value.trim();
    set(number ? (text === "" || !Number.isFinite(Number(text)) ? null : Number(text)) : text);
  });
  return h("div", { class: "field question" }, h("label", { for: id }, legend), input);
}

export async function render(root, ctx, draft, steps) {
  await ctx.categories();
  const category = ctx.category(draft.category);
  if (!category) {
    draft.step = "category";
    return steps.back();
  }
  const save = () => steps.save();
  add(root, 
    h("h1", {}, t("details.title")),
    urgentNotice(category),
    h("p", { class: "chosen-category" }, h("img", { src: iconUrl(category.icon), alt: "", class: "category-icon", width: 24, height: 24 }), named(category)),
  );
  const form = h("form", { id: "details-form", novalidate: true });
  const errors = h("div", { id: "details-errors" });
  if (category.questions?.length) {
    add(form, h("h2", {}, t("details.questions")), category.questions.map((question) => questionField(question, draft, save)));
  }

  // Photos: kept as Blobs in the draft, each with the Idempotency-Key of its upload.
  const thumbs = h("ul", { class: "photo-list", id: "photo-list" });
  const photoStatus = h("p", { class: "hint", id: "photo-status", "aria-live": "polite" });
  const picker = h("input", { type: "file", id: "photo-input", accept: "image/*", multiple: true, class: "photo-input" });
  const pickerLabel = h("label", { for: "photo-input", class: "button", id: "photo-label" }, t("details.add_photo"));
  const urls = [];
  function drawPhotos() {
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
    clear(thumbs);
    draft.photos.forEach((photo, index) => {
      const url = URL.createObjectURL(photo.blob);
      urls.push(url);
      thumbs.append(
        h(
          "li",
          { class: "photo" },
          h("img", { src: url, alt: t("details.photo_alt", { n: index + 1 }), class: "photo-thumb" }),
          h(
            "button",
            {
              type: "button",
              class: "button button-small",
              "data-remove-photo": index,
              onclick: async () => {
                draft.photos.splice(index, 1);
                await save();
                drawPhotos();
                ctx.announce(t("details.remove_photo", { n: index + 1 }));
                picker.focus();
              },
            },
            t("details.remove_photo", { n: index + 1 }),
          ),
        ),
      );
    });
    const full = draft.photos.length >= MAX_PHOTOS;
    picker.disabled = full;
    pickerLabel.classList.toggle("button-disabled", full);
    photoStatus.textContent = full ? t("details.photos_full", { max: MAX_PHOTOS }) : "";
  }
  picker.addEventListener("change", async () => {
    const files = [...picker.files];
    const room = MAX_PHOTOS - draft.photos.length;
    for (const file of files.slice(0, room)) {
      draft.photos.push({ key: idempotencyKey(), blob: file, name: file.name, type: file.type, uploaded: false });
    }
    picker.value = "";
    await save();
    drawPhotos();
    if (files.length > room) photoStatus.textContent = t("details.photos_dropped", { count: files.length - room, max: MAX_PHOTOS });
  });
  add(form, 
    h(
      "fieldset",
      { class: "photos" },
      h("legend", {}, t("details.photos")),
      h("p", { class: "hint" }, t("details.photos_hint", { max: MAX_PHOTOS })),
      category.photo_required ? h("p", { class: "hint" }, t("details.photo_required")) : null,
      thumbs,
      picker,
      pickerLabel,
      photoStatus,
    ),
  );

  const description = h("textarea", { id: "description", name: "description", rows: 4, maxlength: 2000, "aria-describedby": "description-hint" });
  description.value = draft.description || "";
  description.addEventListener("input", () => {
    draft.description = description.value;
    save(); // each keystroke kept: a reload or a language switch loses nothing
  });
  description.addEventListener("change", save);
  add(form, 
    h(
      "div",
      { class: "field" },
      h("label", { for: "description" }, t("details.description")),
      h("p", { class: "hint", id: "description-hint" }, t("details.description_hint")),
      description,
    ),
  );

  const contactField = (name, type, autocomplete) => {
    const input = h("input", { id: `contact-${name}`, name, type, autocomplete, maxlength: name === "email" ? 320 : 200 });
    input.value = draft.contact?.[name] || "";
    input.addEventListener("change", () => {
      draft.contact = { ...(draft.contact || {}), [name]: input.value.trim() };
      save();
    });
    return h("div", { class: "field" }, h("label", { for: `contact-${name}` }, t(`details.${name}`)), input);
  };
  add(form, 
    h(
      "fieldset",
      { class: "contact", "aria-describedby": "contact-hint" },
      h("legend", {}, t("details.contact")),
      h("p", { class: "hint", id: "contact-hint" }, t("details.contact_hint")),
      contactField("name", "text", "name"),
      contactField("email", "email", "email"),
      contactField("phone", "tel", "tel"),
    ),
  );
  add(form, 
    errors,
    h("div", { class: "step-buttons" }, backButton(steps), h("button", { type: "submit", class: "button button-primary", id: "step-next" }, t("wizard.next"))),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    draft.description = description.value;
    const missing = (category.questions || []).filter((q) => {
      const value = draft.answers[q.code];
      return q.required && (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length));
    });
    clear(errors);
    if (missing.length || (category.photo_required && !draft.photos.length)) {
      const text = missing.length ? t("details.missing", { questions: missing.map(label).join(", ") }) : t("details.photo_required");
      errors.append(h("div", { class: "problem", role: "alert" }, h("p", {}, text)));
      return;
    }
    await steps.next();
  });
  add(root, form);
  drawPhotos();
}
