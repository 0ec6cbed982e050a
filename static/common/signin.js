// What the staff apps' sign-in screens share (the console, the crew tablet): the e-mail and
// password form, how a sign-in attempt reports its failure, and their words. Each app draws
// its own screen around them (its demo picker, its header).

import { signInWithPassword } from "./auth.js";
import { clear, h } from "./dom.js";
import { addTexts, t } from "./i18n.js";

addTexts({
  fr: {
    "signin.email": "Adresse électronique",
    "signin.password": "Mot de passe",
    "signin.submit": "Se connecter",
    "signin.error.invalid_credentials": "Adresse ou mot de passe incorrect.",
    "signin.error.unreachable": "Le service de connexion ne répond pas. Réessayez dans un instant.",
    "signin.error.other": "La connexion a échoué ({code}).",
  },
  en: {
    "signin.email": "E-mail address",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.error.invalid_credentials": "Wrong e-mail address or password.",
    "signin.error.unreachable": "The sign-in service does not answer. Try again in a moment.",
    "signin.error.other": "Sign-in failed ({code}).",
  },
});

// The words of a failed sign-in (an AuthError of auth.js).
export function signInError(error) {
  const code = error?.code || "other";
  if (code === "invalid_credentials" || code === "unreachable") return t(`signin.error.${code}`);
  return t("signin.error.other", { code });
}

// Runs the sign-in `how` (a function returning a promise); a failure is written in `status`.
export async function attemptSignIn(status, how) {
  clear(status);
  try {
    await how();
  } catch (error) {
    status.append(h("p", { class: "problem" }, signInError(error)));
  }
}

// The e-mail and password form; a failure is written in `status`.
export function passwordForm(status) {
  const email = h("input", { id: "signin-email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "signin-password", type: "password", autocomplete: "current-password", required: true });
  return h(
    "form",
    {
      class: "signin-form",
      onsubmit: (event) => {
        event.preventDefault();
        attemptSignIn(status, () => signInWithPassword(email.value, password.value));
      },
    },
    h("div", { class: "field" }, h("label", { for: "signin-email" }, t("signin.email")), email),
    h("div", { class: "field" }, h("label", { for: "signin-password" }, t("signin.password")), password),
    h("button", { type: "submit", class: "button button-primary" }, t("signin.submit")),
  );
}
