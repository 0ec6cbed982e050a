// A small helper to build the console's elements without innerHTML (no markup injection, no
// inline style: the Content-Security-Policy allows neither).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

export function problemBox(error, t) {
  const problem = error?.problem || {};
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("p", {}, problem.detail || t("error.generic")),
  );
}

// Whether a key press is typing in a field (the console's shortcuts leave it alone).
export function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

// One key per write the person means once: a retry of it is answered, never done twice.
export function idempotencyKey() {
  return window.crypto?.randomUUID ? window.crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

// Asks before a removal, in `area`: the question, then "yes" (sends `remove()`; the API's
// refusal is shown in place) or "cancel" (focus goes back to `back()`'s element). Once done,
// `done` is announced and shown, and `after()` runs (reload the list, move the focus).
export function confirmRemoval(area, { id, question, yes, cancel, remove, done, after, back, ctx, t }) {
  clear(area);
  const result = h("div", {});
  const confirm = h(
    "button",
    {
      type: "button",
      class: "button button-danger",
      id: `${id}-yes`,
      onclick: async () => {
        clear(result);
        try {
          await remove();
        } catch (error) {
          result.append(problemBox(error, t));
          return;
        }
        ctx.announce(done);
        clear(area);
        area.append(h("p", { class: "admin-done", role: "status" }, done));
        await after();
      },
    },
    yes,
  );
  const box = h(
    "div",
    { class: "panel admin-confirm", role: "alertdialog", "aria-labelledby": `${id}-text`, id },
    h("p", { id: `${id}-text` }, question),
    result,
    h(
      "div",
      { class: "form-buttons" },
      confirm,
      h("button", { type: "button", class: "button", onclick: () => { clear(area); back()?.focus(); } }, cancel),
    ),
  );
  area.append(box);
  confirm.focus();
}
