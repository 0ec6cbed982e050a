// The console's words, French first, English one click away. Each module adds its own texts
// with addTexts({fr: {...}, en: {...}}); t(key, vars) fills {name} placeholders. Dates and
// numbers are shown in Europe/Paris time and in the language's format.

const texts = { fr: {}, en: {} };
const LANGUAGES = ["fr", "en"];
const STORE_KEY = "signale.lang"; // a preference, not personal data
let current = "fr";

try {
  const stored = window.localStorage.getItem(STORE_KEY);
  if (LANGUAGES.includes(stored)) current = stored;
} catch (_) {
  /* storage refused: French */
}

export function addTexts(more) {
  for (const lang of LANGUAGES) Object.assign(texts[lang], more[lang] || {});
}

export function lang() {
  return current;
}

export function setLang(code) {
  if (!LANGUAGES.includes(code)) return;
  current = code;
  document.documentElement.lang = code;
  try {
    window.localStorage.setItem(STORE_KEY, code);
  } catch (_) {
    /* not kept: fine */
  }
}

export function t(key, vars = {}) {
  const text = texts[current][key] ?? texts.fr[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

function locale() {
  return current === "fr" ? "fr-FR" : "en-GB";
}

export function formatDateTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), {
    timeZone: "Europe/Paris",
    dateStyle: "short",
    timeStyle: "short",
  }).format(new Date(iso));
}

export function formatDate(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), { timeZone: "Europe/Paris", dateStyle: "medium" }).format(
    new Date(iso),
  );
}

export function formatNumber(n, options = {}) {
  return new Intl.NumberFormat(locale(), options).format(n);
}

// Names the API gives in both languages ({name_fr, name_en}).
export function named(thing) {
  if (!thing) return "";
  return (current === "en" ? thing.name_en : thing.name_fr) || thing.name_fr || thing.name || thing.code || "";
}

addTexts({
  fr: {
    "status.new": "Nouveau",
    "status.acknowledged": "Pris en compte",
    "status.assigned": "Affecté",
    "status.in_progress": "En cours",
    "status.resolved": "Résolu",
    "status.closed": "Clos",
    "status.rejected": "Rejeté",
    "status.duplicate": "Doublon",
    "status.reopened": "Rouvert",
    "priority.1": "Urgente",
    "priority.2": "Haute",
    "priority.3": "Normale",
    "priority.4": "Basse",
    "role.agent": "Agent",
    "role.supervisor": "Superviseur",
    "role.admin": "Administrateur",
    "role.crew": "Équipe de terrain",
    "role.resident": "Habitant",
    "role.privacy_officer": "Correspondant CNIL",
  },
  en: {
    "status.new": "New",
    "status.acknowledged": "Acknowledged",
    "status.assigned": "Assigned",
    "status.in_progress": "In progress",
    "status.resolved": "Resolved",
    "status.closed": "Closed",
    "status.rejected": "Rejected",
    "status.duplicate": "Duplicate",
    "status.reopened": "Reopened",
    "priority.1": "Urgent",
    "priority.2": "High",
    "priority.3": "Normal",
    "priority.4": "Low",
    "role.agent": "Agent",
    "role.supervisor": "Supervisor",
    "role.admin": "Administrator",
    "role.crew": "Field crew",
    "role.resident": "Resident",
    "role.privacy_officer": "Privacy officer",
  },
});
