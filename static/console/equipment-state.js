// What a piece of equipment's live state looks like in the console: one word per state
// (a street light on, dimmed or off; a signal normal, flashing amber or off; a camera online
// or offline; a fault; no feed), its marker's classes on the map, its legend and its words.
// Shared by the maps (map.js) and the equipment screen (equipment.js).

import { addTexts, formatDateTime, t } from "../common/i18n.js";

addTexts({
  fr: {
    "kind.street_light": "Lampadaire",
    "kind.traffic_signal": "Feu tricolore",
    "kind.camera": "Caméra",
    "kind.drain": "Avaloir",
    "kind.sign": "Panneau",
    "kind.bench": "Banc",
    "live.light-on": "allumé",
    "live.light-dimmed": "allumé à {level} %",
    "live.light-off": "éteint",
    "live.signal-normal": "fonctionnement normal",
    "live.signal-flashing": "orange clignotant",
    "live.signal-off": "éteint",
    "live.camera-online": "en ligne",
    "live.camera-offline": "hors ligne",
    "live.fault": "en panne ({fault})",
    "live.unknown": "état inconnu (aucun flux)",
    "live.faulty": "en panne (registre)",
    "live.stale": "donnée périmée",
    "live.observed": "observé le {when}",
    "live.marker": "{kind} {reference} : {state}",
    "legend.equipment": "Équipements",
    "legend.light-on": "Lampadaire allumé",
    "legend.light-dimmed": "Lampadaire abaissé",
    "legend.light-off": "Lampadaire éteint",
    "legend.signal-normal": "Feu normal",
    "legend.signal-flashing": "Feu orange clignotant",
    "legend.signal-off": "Feu éteint",
    "legend.camera-online": "Caméra en ligne",
    "legend.camera-offline": "Caméra hors ligne",
    "legend.fault": "Équipement en panne",
    "legend.unknown": "Sans flux",
    "legend.stale": "Donnée périmée (pointillés, pâle)",
  },
  en: {
    "kind.street_light": "Street light",
    "kind.traffic_signal": "Traffic signal",
    "kind.camera": "Camera",
    "kind.drain": "Drain",
    "kind.sign": "Sign",
    "kind.bench": "Bench",
    "live.light-on": "on",
    "live.light-dimmed": "on at {level}%",
    "live.light-off": "off",
    "live.signal-normal": "normal",
    "live.signal-flashing": "flashing amber",
    "live.signal-off": "off",
    "live.camera-online": "online",
    "live.camera-offline": "offline",
    "live.fault": "faulty ({fault})",
    "live.unknown": "state unknown (no feed)",
    "live.faulty": "faulty (register)",
    "live.stale": "stale data",
    "live.observed": "observed {when}",
    "live.marker": "{kind} {reference}: {state}",
    "legend.equipment": "Equipment",
    "legend.light-on": "Street light on",
    "legend.light-dimmed": "Street light dimmed",
    "legend.light-off": "Street light off",
    "legend.signal-normal": "Signal normal",
    "legend.signal-flashing": "Signal flashing amber",
    "legend.signal-off": "Signal off",
    "legend.camera-online": "Camera online",
    "legend.camera-offline": "Camera offline",
    "legend.fault": "Faulty equipment",
    "legend.unknown": "No feed",
    "legend.stale": "Stale data (dashed, pale)",
  },
});

export const LEGEND = [
  "light-on",
  "light-dimmed",
  "light-off",
  "signal-normal",
  "signal-flashing",
  "signal-off",
  "camera-online",
  "camera-offline",
  "fault",
  "unknown",
];

// The state word of an asset as the API gives it (its `live` object, null without a feed).
export function stateOf(asset) {
  const live = asset.live;
  // No feed: the register's word (an agent may have marked it faulty).
  if (!live) return asset.status === "faulty" ? "fault" : "unknown";
  if (asset.kind === "street_light") {
    if (live.fault) return "fault";
    if (live.power_state === "off" || live.dimming_level === 0) return "light-off";
    if (live.dimming_level !== null && live.dimming_level !== undefined && live.dimming_level < 100) return "light-dimmed";
    if (live.power_state === "on") return "light-on";
    return "unknown";
  }
  if (asset.kind === "traffic_signal") {
    if (live.mode === "flashing_amber") return "signal-flashing";
    if (live.fault) return "fault";
    if (live.mode === "off") return "signal-off";
    if (live.mode === "normal") return "signal-normal";
    return "unknown";
  }
  if (asset.kind === "camera") {
    if (live.online === true) return "camera-online";
    if (live.online === false) return "camera-offline";
    if (live.fault) return "fault";
    return "unknown";
  }
  return live.fault ? "fault" : "unknown";
}

export function stateText(asset) {
  const state = stateOf(asset);
  if (state === "fault" && !asset.live) return t("live.faulty");
  return t(`live.${state}`, { level: asset.live?.dimming_level ?? "", fault: asset.live?.fault || "" });
}

export function kindText(kind) {
  return t(`kind.${kind}`);
}

// The marker's title: kind, reference, state, and "stale" when it is.
export function markerTitle(asset) {
  const parts = [stateText(asset)];
  if (asset.live?.observed_at) parts.push(t("live.observed", { when: formatDateTime(asset.live.observed_at) }));
  if (asset.live?.stale) parts.push(t("live.stale"));
  return t("live.marker", { kind: kindText(asset.kind), reference: asset.reference, state: parts.join(" · ") });
}

export function markerClass(asset, selected = false) {
  const classes = ["asset-marker", `asset-marker--${asset.kind}`, `asset-marker--${asset.status}`, `asset-state--${stateOf(asset)}`];
  if (asset.live?.stale) classes.push("asset-marker--stale");
  if (selected) classes.push("asset-marker--selected");
  return classes.join(" ");
}

export function legendItems(document) {
  const items = LEGEND.map((state) => [`asset-state--${state}`, t(`legend.${state}`)]);
  items.push(["asset-marker--stale asset-state--light-on", t("legend.stale")]);
  return items.map(([className, text]) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `map-legend__swatch map-legend__asset ${className}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(text));
    return item;
  });
}
