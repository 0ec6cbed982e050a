// The catalogue names its categories' icons ("pothole", "streetlight-off"...): each is drawn
// with an icon of lucide-static (ISC licence, served by Signale), with a fallback for a name
// the page does not know yet.

const BASE = "/static/node_modules/lucide-static/icons/";
export const FALLBACK = "circle-help";
export const ICONS = Object.freeze({
  animal: "paw-print",
  bench: "armchair",
  bin: "trash-2",
  car: "car",
  drain: "droplets",
  dumping: "trash",
  gas: "flame",
  graffiti: "spray-can",
  hazard: "triangle-alert",
  other: "circle-help",
  pavement: "footprints",
  pothole: "construction",
  "road-marking": "paint-roller",
  sign: "signpost",
  snow: "snowflake",
  "streetlight-damaged": "lamp",
  "streetlight-day": "sun",
  "streetlight-off": "lightbulb-off",
  "traffic-light": "octagon-alert",
  tree: "tree-deciduous",
  vegetation: "leaf",
});

export function iconUrl(name) {
  return `${BASE}${ICONS[name] || FALLBACK}.svg`;
}

export function iconUrls() {
  return [...new Set([...Object.values(ICONS), FALLBACK])].map((name) => `${BASE}${name}.svg`);
}
