// A ticket's photo as its desk moderates it: the public (blurred) image with its blur boxes
// outlined, the unblurred original behind an explicit toggle (each view is recorded in the
// audit log, and the agent is told so), a box drawn with the mouse or typed in a form
// (keyboard), a box removed, the photo hidden from the public or published. Every change
// sends If-Match with the photo's version; the answer is the photo as it now is.

import { ApiProblem, authHeaders, etagOf } from "../common/api.js";
import { append, clear, h, problemBox } from "../common/dom.js";
import { addTexts, t } from "../common/i18n.js";

addTexts({
  fr: {
    "photo.public": "Publique",
    "photo.hidden": "Masquée au public",
    "photo.withdrawn": "Masquée : ses fichiers publics sont retirés. Affichez l’original pour la voir.",
    "photo.showing_public": "Version publique (floutée)",
    "photo.showing_original": "Original non flouté",
    "photo.show_original": "Voir l'original non flouté",
    "photo.show_public": "Revenir à la version publique",
    "photo.original_audited": "Chaque consultation de l'original est enregistrée dans le journal d'audit.",
    "photo.no_original": "Plus d'original non flouté pour cette photo : ses zones floutées ne peuvent plus changer.",
    "photo.not_detected": "Photo antérieure au floutage automatique : la détection n'y a pas encore été faite.",
    "photo.hide": "Masquer au public",
    "photo.publish": "Publier",
    "photo.boxes": "Zones floutées",
    "photo.no_boxes": "Aucune zone floutée.",
    "photo.box.face": "Visage",
    "photo.box.plate": "Plaque",
    "photo.box.desk": "Zone du guichet",
    "photo.box.auto": "détection automatique, confiance {score} %",
    "photo.box.drawn": "tracée à la main",
    "photo.box.removed": "retirée",
    "photo.remove_box": "Retirer la zone {id}",
    "photo.draw_hint": "Tracez une zone à la souris sur l'image, ou saisissez-la ci-dessous (en % de la largeur et de la hauteur).",
    "photo.add_box": "Ajouter une zone floutée",
    "photo.left": "Gauche (%)",
    "photo.top": "Haut (%)",
    "photo.right": "Droite (%)",
    "photo.bottom": "Bas (%)",
    "photo.image_alt": "Photo {id} ({variant})",
    "photo.saved": "Photo {id} : modération enregistrée.",
    "photo.changed": "La photo {id} a été modérée par ailleurs : elle est à jour, vérifiez puis recommencez.",
  },
  en: {
    "photo.public": "Public",
    "photo.hidden": "Hidden from the public",
    "photo.withdrawn": "Hidden: its public files are withdrawn. Show the original to see it.",
    "photo.showing_public": "Public version (blurred)",
    "photo.showing_original": "Unblurred original",
    "photo.show_original": "Show the unblurred original",
    "photo.show_public": "Back to the public version",
    "photo.original_audited": "Every view of the original is recorded in the audit log.",
    "photo.no_original": "No unblurred original left for this photo: its blurred areas can no longer change.",
    "photo.not_detected": "Photo from before automatic blurring: detection has not run on it yet.",
    "photo.hide": "Hide from the public",
    "photo.publish": "Publish",
    "photo.boxes": "Blurred areas",
    "photo.no_boxes": "No blurred area.",
    "photo.box.face": "Face",
    "photo.box.plate": "Plate",
    "photo.box.desk": "Desk's area",
    "photo.box.auto": "automatic detection, confidence {score} %",
    "photo.box.drawn": "drawn by hand",
    "photo.box.removed": "removed",
    "photo.remove_box": "Remove area {id}",
    "photo.draw_hint": "Draw an area on the image with the mouse, or type it below (in % of the width and height).",
    "photo.add_box": "Add a blurred area",
    "photo.left": "Left (%)",
    "photo.top": "Top (%)",
    "photo.right": "Right (%)",
    "photo.bottom": "Bottom (%)",
    "photo.image_alt": "Photo {id} ({variant})",
    "photo.saved": "Photo {id}: moderation recorded.",
    "photo.changed": "Photo {id} was moderated elsewhere: it is up to date, check it and try again.",
  },
});

const SVG = "http://www.w3.org/2000/svg";
const SIDES = ["left", "top", "right", "bottom"];
// The smallest box the mouse draws, in fractions (a click is not a box).
const MIN_DRAWN = 0.01;

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export class PhotoModeration {
  // ``photo``: the photo as the report's staff see it (with ``moderation``).
  constructor(ctx, reportId, photo, { onChanged, label }) {
    this.ctx = ctx;
    this.reportId = reportId;
    this.photo = photo;
    this.onChanged = onChanged;
    this.label = label;
    this.showingOriginal = false;
    this.originalUrl = null;
    this.element = h("div", { class: "photo-moderation", "data-photo-id": photo.id });
    this.render();
  }

  get path() {
    return `/v1/reports/${this.reportId}/photos/${this.photo.id}`;
  }

  dispose() {
    if (this.originalUrl) URL.revokeObjectURL(this.originalUrl);
    this.originalUrl = null;
  }

  render() {
    const photo = this.photo;
    const m = photo.moderation;
    clear(this.element);
    const variant = this.showingOriginal ? t("photo.showing_original") : t("photo.showing_public");
    const src = this.showingOriginal ? this.originalUrl : photo.url;
    // A hidden photo has no public files: only its original, shown on request (audited).
    const image = src
      ? h("img", {
          class: "photo-moderation__image",
          src,
          alt: t("photo.image_alt", { id: photo.id, variant }),
          width: photo.width,
          height: photo.height,
        })
      : h("p", { class: "photo-moderation__withdrawn", "data-photo-withdrawn": "" }, t("photo.withdrawn"));
    this.overlay = svg("svg", { class: "photo-moderation__boxes", viewBox: "0 0 1 1", preserveAspectRatio: "none", "aria-hidden": "true" });
    for (const box of m.boxes) {
      this.overlay.append(
        svg("rect", {
          class: `photo-box ${box.active ? "photo-box--active" : "photo-box--removed"}`,
          x: box.left,
          y: box.top,
          width: box.right - box.left,
          height: box.bottom - box.top,
          "vector-effect": "non-scaling-stroke",
          "data-box-id": box.id,
        }),
      );
    }
    const drawable = m.has_original && src;
    const frame = h("div", { class: `photo-moderation__frame${drawable ? " photo-moderation__frame--drawable" : ""}` }, image, src ? this.overlay : null);
    if (drawable) this.enableDrawing(frame);

    append(this.element, [
      h(
        "p",
        { class: "photo-moderation__state" },
        h("span", { class: `badge ${photo.public ? "badge-public" : "badge-hidden"}`, "data-photo-state": photo.public ? "public" : "hidden" }, photo.public ? t("photo.public") : t("photo.hidden")),
        " ",
        h("span", { class: "photo-moderation__variant", "data-variant": this.showingOriginal ? "original" : "public" }, variant),
        this.label ? [" · ", h("span", { class: "photo-kind" }, this.label)] : null,
      ),
      frame,
      h("p", { class: "photo-moderation__status", role: "status" }),
      this.toolbar(),
      m.has_original ? h("p", { class: "hint" }, t("photo.original_audited")) : h("p", { class: "hint" }, t("photo.no_original")),
      m.detected ? null : h("p", { class: "hint" }, t("photo.not_detected")),
      this.boxList(),
      m.has_original ? this.boxForm() : null,
    ]);
  }

  toolbar() {
    const m = this.photo.moderation;
    return h(
      "div",
      { class: "photo-moderation__tools" },
      m.has_original
        ? h("button", { type: "button", class: "button", "data-photo-action": "original", "aria-pressed": this.showingOriginal ? "true" : "false", onclick: () => this.toggleOriginal() }, this.showingOriginal ? t("photo.show_public") : t("photo.show_original"))
        : null,
      m.hidden
        ? h("button", { type: "button", class: "button button-primary", "data-photo-action": "publish", onclick: () => this.change("publish") }, t("photo.publish"))
        : h("button", { type: "button", class: "button", "data-photo-action": "hide", onclick: () => this.change("hide") }, t("photo.hide")),
    );
  }

  boxList() {
    const boxes = this.photo.moderation.boxes;
    return [
      h("h5", {}, t("photo.boxes")),
      boxes.length
        ? h(
            "ul",
            { class: "photo-box-list" },
            boxes.map((box) =>
              h(
                "li",
                { "data-box-id": box.id, class: box.active ? null : "photo-box-list__removed" },
                `${box.id}. ${t(`photo.box.${box.kind}`)} — `,
                box.source === "auto" ? t("photo.box.auto", { score: Math.round(box.score * 100) }) : t("photo.box.drawn"),
                box.active ? null : ` — ${t("photo.box.removed")}`,
                box.active && this.photo.moderation.has_original
                  ? [" ", h("button", { type: "button", class: "button button-small", "data-remove-box": box.id, onclick: () => this.setBoxes({ without: box.id }) }, t("photo.remove_box", { id: box.id }))]
                  : null,
              ),
            ),
          )
        : h("p", {}, t("photo.no_boxes")),
    ];
  }

  boxForm() {
    const id = (side) => `photo-${this.photo.id}-${side}`;
    const field = (side, value) =>
      h("div", { class: "field" }, h("label", { for: id(side) }, t(`photo.${side}`)), h("input", { id: id(side), name: side, type: "number", min: 0, max: 100, step: 0.1, required: true, value }));
    return h(
      "form",
      {
        class: "photo-box-form",
        onsubmit: (event) => {
          event.preventDefault();
          const data = new FormData(event.target);
          const box = Object.fromEntries(SIDES.map((side) => [side, Number(data.get(side)) / 100]));
          this.setBoxes({ add: box });
        },
      },
      h("p", { class: "hint" }, t("photo.draw_hint")),
      h("div", { class: "photo-box-form__sides" }, field("left", 40), field("top", 40), field("right", 60), field("bottom", 60)),
      h("button", { type: "submit", class: "button" }, t("photo.add_box")),
    );
  }

  // Drawing a box with the mouse (or a pen, or a finger) on the image.
  enableDrawing(frame) {
    let start = null;
    let rect = null;
    const at = (event) => {
      const bounds = frame.getBoundingClientRect();
      const clamp = (v) => Math.min(1, Math.max(0, v));
      return { x: clamp((event.clientX - bounds.left) / bounds.width), y: clamp((event.clientY - bounds.top) / bounds.height) };
    };
    const sides = (a, b) => ({ left: Math.min(a.x, b.x), top: Math.min(a.y, b.y), right: Math.max(a.x, b.x), bottom: Math.max(a.y, b.y) });
    frame.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || this.busy) return;
      event.preventDefault();
      frame.setPointerCapture(event.pointerId);
      start = at(event);
      rect = svg("rect", { class: "photo-box photo-box--drawing", x: start.x, y: start.y, width: 0, height: 0, "vector-effect": "non-scaling-stroke" });
      this.overlay.append(rect);
    });
    frame.addEventListener("pointermove", (event) => {
      if (!start) return;
      const box = sides(start, at(event));
      rect.setAttribute("x", box.left);
      rect.setAttribute("y", box.top);
      rect.setAttribute("width", box.right - box.left);
      rect.setAttribute("height", box.bottom - box.top);
    });
    const finish = (event) => {
      if (!start) return;
      const box = sides(start, at(event));
      start = null;
      if (box.right - box.left < MIN_DRAWN || box.bottom - box.top < MIN_DRAWN) {
        rect.remove();
        return;
      }
      this.setBoxes({ add: box });
    };
    frame.addEventListener("pointerup", finish);
    frame.addEventListener("pointercancel", () => {
      start = null;
      rect?.remove();
    });
  }

  status(text) {
    const box = this.element.querySelector(".photo-moderation__status");
    if (box) box.textContent = text;
    this.ctx.announce?.(text);
  }

  showProblem(error) {
    const box = this.element.querySelector(".photo-moderation__status");
    if (box) {
      clear(box);
      box.append(problemBox(error, t));
    }
  }

  // The boxes the photo keeps (its active ones, but ``without``) and a new one (``add``).
  async setBoxes({ add = null, without = null }) {
    const keep = this.photo.moderation.boxes.filter((box) => box.active && box.id !== without).map((box) => box.id);
    const drawn = add ? [Object.fromEntries(SIDES.map((side) => [side, Math.round(add[side] * 1e6) / 1e6]))] : [];
    await this.send(`${this.path}/boxes`, "PUT", { keep, add: drawn });
  }

  async change(action) {
    await this.send(`${this.path}/${action}`, "POST");
  }

  async send(path, method, body) {
    if (this.busy) return;
    this.busy = true;
    try {
      const answer = await this.ctx.api(path, { method, body, ifMatch: etagOf(this.photo.moderation.version) });
      this.photo = answer.body;
      if (this.showingOriginal) await this.loadOriginal(); // the original never changes, but stay on it
      this.render();
      this.status(t("photo.saved", { id: this.photo.id }));
      this.onChanged?.(this.photo);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 412) {
        this.photo = (await this.ctx.api(this.path)).body;
        this.render();
        this.status(t("photo.changed", { id: this.photo.id }));
      } else {
        this.render();
        this.showProblem(error);
      }
    } finally {
      this.busy = false;
    }
  }

  // The unblurred original is fetched with the bearer token (no cookie: an <img> could not
  // send it) and shown from a blob URL, dropped when the agent goes back.
  async loadOriginal() {
    if (this.originalUrl) return;
    const response = await fetch(`${this.path}/original`, { headers: await authHeaders() });
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      throw new ApiProblem(response.status, problem);
    }
    this.originalUrl = URL.createObjectURL(await response.blob());
  }

  async toggleOriginal() {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.showingOriginal) {
        this.showingOriginal = false;
        this.dispose();
      } else {
        await this.loadOriginal();
        this.showingOriginal = true;
      }
      this.render();
      this.element.querySelector('[data-photo-action="original"]')?.focus();
    } catch (error) {
      this.showProblem(error);
    } finally {
      this.busy = false;
    }
  }
}
