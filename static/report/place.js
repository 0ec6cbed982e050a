// Step 1, the place: a tap on the map (the communes' outlines drawn as vectors; tiles only
// from the configured tile server), the phone's position, or the coordinates typed in (the
// keyboard's way). Each place is checked with GET /v1/service-area/locate: its commune, or
// the refusal naming the nearest commune when it is outside the metropolis.

/* global L */

import { api } from "../common/api.js";
import { h, clear } from "../common/dom.js";
import { addTexts, formatNumber, t } from "../common/i18n.js";

addTexts({
  fr: {
    "place.title": "Où est le problème ?",
    "place.intro": "Touchez la carte à l’endroit du problème, utilisez votre position, ou saisissez ses coordonnées.",
    "place.map": "Carte de Dijon Métropole : touchez l’endroit du problème",
    "place.here": "Utiliser ma position",
    "place.locating": "Recherche de votre position…",
    "place.no_geolocation": "Votre position n’est pas disponible ({reason}) : touchez la carte ou saisissez les coordonnées.",
    "place.coordinates": "Saisir les coordonnées",
    "place.lat": "Latitude (ex. 47,3220)",
    "place.lon": "Longitude (ex. 5,0415)",
    "place.put": "Placer le point",
    "place.invalid": "Coordonnées invalides : une latitude entre -90 et 90 et une longitude entre -180 et 180, en degrés décimaux.",
    "place.address": "Adresse ou repère (facultatif)",
    "place.address_hint": "Par exemple : devant le n° 12, à l’angle de la rue…",
    "place.checking": "Vérification du lieu…",
    "place.inside": "Commune : {commune}",
    "place.outside": "Ce lieu est hors de Dijon Métropole (à {distance_km} km de {commune}, la commune la plus proche) : Signale ne traite que les 23 communes de la métropole.",
    "place.none": "Aucun lieu choisi pour l’instant.",
  },
  en: {
    "place.title": "Where is the problem?",
    "place.intro": "Tap the map where the problem is, use your position, or type its coordinates.",
    "place.map": "Map of Dijon Métropole: tap where the problem is",
    "place.here": "Use my position",
    "place.locating": "Finding your position…",
    "place.no_geolocation": "Your position is not available ({reason}): tap the map or type the coordinates.",
    "place.coordinates": "Type the coordinates",
    "place.lat": "Latitude (e.g. 47.3220)",
    "place.lon": "Longitude (e.g. 5.0415)",
    "place.put": "Place the point",
    "place.invalid": "Invalid coordinates: a latitude between -90 and 90 and a longitude between -180 and 180, in decimal degrees.",
    "place.address": "Address or landmark (optional)",
    "place.address_hint": "For example: in front of number 12, at the corner of…",
    "place.checking": "Checking the place…",
    "place.inside": "Commune: {commune}",
    "place.outside": "This place is outside Dijon Métropole ({distance_km} km from {commune}, the nearest commune): Signale covers the 23 communes of the metropolis only.",
    "place.none": "No place chosen yet.",
  },
});

const DIJON = [47.322, 5.0415];
let communes = null;

function number(text) {
  const value = Number(String(text).trim().replace(",", "."));
  return String(text).trim() && Number.isFinite(value) ? value : null;
}

export async function render(root, ctx, draft, steps) {
  const result = h("div", { id: "place-result", class: "place-result", "aria-live": "polite" });
  const next = h("button", { type: "button", class: "button button-primary", id: "step-next", disabled: true, onclick: () => steps.next() }, t("wizard.next"));
  const mapElement = h("div", { id: "place-map", class: "place-map", role: "region", "aria-label": t("place.map") });
  const lat = h("input", { id: "place-lat", name: "lat", type: "text", inputmode: "decimal", autocomplete: "off" });
  const lon = h("input", { id: "place-lon", name: "lon", type: "text", inputmode: "decimal", autocomplete: "off" });
  const address = h("input", { id: "place-address", name: "address", type: "text", maxlength: 300, "aria-describedby": "place-address-hint" });
  address.value = draft.address || "";
  address.addEventListener("change", () => {
    draft.address = address.value.trim();
    steps.save();
  });
  let map = null;
  let marker = null;
  let asked = 0;

  function showMarker(location) {
    if (!map) return;
    const point = [location.lat, location.lon];
    if (marker) marker.setLatLng(point);
    else marker = L.circleMarker(point, { radius: 10, className: "place-marker", weight: 3 }).addTo(map);
  }

  function showResult() {
    clear(result);
    if (!draft.location) {
      result.append(h("p", {}, t("place.none")));
      next.disabled = true;
      return;
    }
    if (draft.commune) {
      result.append(h("p", { class: "place-inside", id: "place-commune" }, t("place.inside", { commune: draft.commune.name })));
      next.disabled = false;
      return;
    }
    next.disabled = true;
  }

  async function pick(latitude, longitude, accuracy = null) {
    const turn = ++asked;
    draft.location = { lon: longitude, lat: latitude, accuracy_m: accuracy };
    draft.commune = null;
    lat.value = formatNumber(latitude, { maximumFractionDigits: 6, useGrouping: false });
    lon.value = formatNumber(longitude, { maximumFractionDigits: 6, useGrouping: false });
    showMarker(draft.location);
    clear(result);
    result.append(h("p", {}, t("place.checking")));
    next.disabled = true;
    let where;
    try {
      where = (await api("/v1/service-area/locate", { query: { lon: longitude, lat: latitude } })).body;
    } catch (error) {
      if (turn !== asked) return;
      clear(result);
      result.append(ctx.problem(error));
      return;
    }
    if (turn !== asked) return;
    if (where.inside) {
      draft.commune = where.commune;
      await steps.save();
      showResult();
      ctx.announce(t("place.inside", { commune: where.commune.name }));
      return;
    }
    await steps.save();
    clear(result);
    const nearest = where.nearest || { name: "?", distance_m: 0 };
    const refusal = t("place.outside", {
      commune: nearest.name,
      distance_km: formatNumber(nearest.distance_m / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    });
    result.append(h("div", { class: "problem", role: "alert", id: "place-refusal" }, h("p", {}, refusal)));
  }

  const here = h(
    "button",
    {
      type: "button",
      class: "button",
      id: "place-here",
      onclick: () => {
        if (!navigator.geolocation) {
          clear(result);
          result.append(h("p", { role: "alert" }, t("place.no_geolocation", { reason: "—" })));
          return;
        }
        clear(result);
        result.append(h("p", {}, t("place.locating")));
        navigator.geolocation.getCurrentPosition(
          (position) => {
            const { latitude, longitude, accuracy } = position.coords;
            if (map) map.setView([latitude, longitude], 17);
            pick(latitude, longitude, Math.min(accuracy ?? 0, 10000) || null);
          },
          (error) => {
            clear(result);
            result.append(h("p", { role: "alert" }, t("place.no_geolocation", { reason: error.message || error.code })));
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
        );
      },
    },
    t("place.here"),
  );

  const coordinates = h(
    "form",
    {
      class: "place-coordinates",
      id: "place-coordinates",
      onsubmit: (event) => {
        event.preventDefault();
        const latitude = number(lat.value);
        const longitude = number(lon.value);
        if (latitude === null || longitude === null || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
          clear(result);
          result.append(h("div", { class: "problem", role: "alert" }, h("p", {}, t("place.invalid"))));
          return;
        }
        if (map) map.setView([latitude, longitude], Math.max(map.getZoom(), 15));
        pick(latitude, longitude);
      },
    },
    h(
      "fieldset",
      {},
      h("legend", {}, t("place.coordinates")),
      h("div", { class: "field" }, h("label", { for: "place-lat" }, t("place.lat")), lat),
      h("div", { class: "field" }, h("label", { for: "place-lon" }, t("place.lon")), lon),
      h("button", { type: "submit", class: "button", id: "place-put" }, t("place.put")),
    ),
  );

  root.append(
    h("h1", {}, t("place.title")),
    h("p", { class: "intro" }, t("place.intro")),
    here,
    mapElement,
    result,
    coordinates,
    h(
      "div",
      { class: "field" },
      h("label", { for: "place-address" }, t("place.address")),
      h("p", { class: "hint", id: "place-address-hint" }, t("place.address_hint")),
      address,
    ),
    h("div", { class: "step-buttons" }, next),
  );
  if (draft.location) {
    lat.value = formatNumber(draft.location.lat, { maximumFractionDigits: 6, useGrouping: false });
    lon.value = formatNumber(draft.location.lon, { maximumFractionDigits: 6, useGrouping: false });
  }
  showResult();

  // Leaflet measures its element: the map is made once the screen is in the page.
  window.setTimeout(async () => {
    if (!mapElement.isConnected || typeof L === "undefined") return;
    const center = draft.location ? [draft.location.lat, draft.location.lon] : DIJON;
    // The outlines drawn well beyond the view: a phone turned sideways shows no cut edge.
    map = L.map(mapElement, { attributionControl: Boolean(ctx.config.tile_url), renderer: L.svg({ padding: 1 }) }).setView(center, draft.location ? 16 : 12);
    if (ctx.config.tile_url) L.tileLayer(ctx.config.tile_url, { maxZoom: 20 }).addTo(map);
    map.on("click", (event) => pick(event.latlng.lat, event.latlng.lng));
    if (draft.location) showMarker(draft.location);
    try {
      communes = communes || (await api("/v1/communes")).body;
      if (map) L.geoJSON(communes, { style: { className: "commune-shape", weight: 1, fill: false }, interactive: false }).addTo(map);
    } catch (_) {
      /* the outlines are a help, not a need */
    }
  }, 0);
}
