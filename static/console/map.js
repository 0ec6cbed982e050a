// The console's map (Leaflet, served by Signale): without a tile server the communes, the
// desk's reports, the equipment and the mobility layers are drawn as vector layers, so the
// map works with no internet; MAP_TILE_URL adds the city's base map under them. The
// equipment layer shows each asset's live state (equipment-state.js), reloaded on demand
// (a command's event) and every minute.

import { api } from "../common/api.js";
import { addTexts, formatNumber, t } from "../common/i18n.js";
import { legendItems, markerClass, markerTitle, stateOf } from "./equipment-state.js";

addTexts({
  fr: {
    "map.label": "Carte des signalements de la file, des communes et des équipements",
    "map.communes": "Communes",
    "map.reports": "Signalements de la file",
    "map.nearby": "Signalements proches de la même catégorie",
    "map.assets": "Équipements (lampadaires, feux)",
    "map.parkings": "Parkings",
    "map.traffic": "Trafic",
    "map.zoom_in": "Zoomer",
    "map.zoom_out": "Dézoomer",
    "map.asset": "{name} ({reference}) : {status}",
    "map.parking": "{name} : {free} places libres",
    "map.picking": "Cliquez sur le signalement d’origine sur la carte.",
    "map.legend": "Légende",
    "map.legend.new": "Nouveau ou rouvert",
    "map.legend.acknowledged": "Pris en compte",
    "map.legend.work": "Affecté ou en cours",
    "asset.in_service": "en service",
    "asset.faulty": "en panne",
    "asset.out_of_service": "hors service",
    "asset.removed": "retiré",
  },
  en: {
    "map.label": "Map of the queue's reports, the communes and the equipment",
    "map.communes": "Communes",
    "map.reports": "Queue's reports",
    "map.nearby": "Nearby reports of the same category",
    "map.assets": "Equipment (street lights, signals)",
    "map.parkings": "Car parks",
    "map.traffic": "Traffic",
    "map.zoom_in": "Zoom in",
    "map.zoom_out": "Zoom out",
    "map.asset": "{name} ({reference}): {status}",
    "map.parking": "{name}: {free} free spaces",
    "map.picking": "Click the original report on the map.",
    "map.legend": "Legend",
    "map.legend.new": "New or reopened",
    "map.legend.acknowledged": "Acknowledged",
    "map.legend.work": "Assigned or in progress",
    "asset.in_service": "in service",
    "asset.faulty": "faulty",
    "asset.out_of_service": "out of service",
    "asset.removed": "removed",
  },
});

const DIJON = [47.322, 5.041];
let communesCache = null;

function statusClass(status) {
  return `report-marker report-marker--${status}`;
}

const ASSET_RELOAD_MS = 60000;

export function createMap(
  element,
  { tileUrl = null, onSelect = () => {}, onAsset = null, onAssets = () => {}, legend: legendSections = ["reports", "equipment"], center = DIJON, zoom = 13, assetZoom = 14 } = {},
) {
  element.setAttribute("role", "region");
  element.setAttribute("aria-label", t("map.label"));
  const map = L.map(element, { zoomControl: false, attributionControl: Boolean(tileUrl), preferCanvas: false }).setView(center, zoom);
  L.control.zoom({ zoomInTitle: t("map.zoom_in"), zoomOutTitle: t("map.zoom_out") }).addTo(map);
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 20 }).addTo(map);

  const communes = L.geoJSON(null, { style: { className: "commune-shape", weight: 1, fill: false }, interactive: false }).addTo(map);
  const reports = L.layerGroup().addTo(map);
  const nearby = L.layerGroup().addTo(map);
  const assets = L.layerGroup().addTo(map);
  const parkings = L.layerGroup();
  const traffic = L.geoJSON(null, { style: (feature) => ({ className: `traffic traffic--${feature.properties.congestion || "unknown"}`, weight: 4 }) });
  const overlays = {
    [t("map.communes")]: communes,
    [t("map.reports")]: reports,
    [t("map.nearby")]: nearby,
    [t("map.assets")]: assets,
    [t("map.parkings")]: parkings,
    [t("map.traffic")]: traffic,
  };
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = () => {
    const box = document.createElement("div");
    box.className = "map-legend";
    const title = document.createElement("p");
    title.className = "map-legend__title";
    title.textContent = t("map.legend");
    box.append(title);
    if (legendSections.includes("reports")) {
      const list = document.createElement("ul");
      for (const [className, key] of [
        ["new", "map.legend.new"],
        ["acknowledged", "map.legend.acknowledged"],
        ["work", "map.legend.work"],
        ["nearby", "map.nearby"],
      ]) {
        const item = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = `map-legend__swatch map-legend__swatch--${className}`;
        swatch.setAttribute("aria-hidden", "true");
        item.append(swatch, document.createTextNode(t(key)));
        list.append(item);
      }
      box.append(list);
    }
    if (legendSections.includes("equipment")) {
      const heading = document.createElement("p");
      heading.className = "map-legend__title";
      heading.textContent = t("legend.equipment");
      const list = document.createElement("ul");
      list.className = "map-legend__equipment";
      list.append(...legendItems(document));
      box.append(heading, list);
    }
    return box;
  };
  legend.addTo(map);

  const markers = new Map();
  const assetMarkers = new Map(); // reference -> circle marker
  let assetItems = [];
  let selectedAsset = null;
  let picking = null;

  function marker(id, latlng, className, title) {
    const circle = L.circleMarker(latlng, { radius: 7, className, weight: 2 });
    circle.bindTooltip(title);
    circle.on("click", () => {
      if (picking) {
        const pick = picking;
        picking = null;
        element.classList.remove("map--picking");
        pick(id);
      } else onSelect(id);
    });
    return circle;
  }

  async function loadCommunes() {
    if (!communesCache) communesCache = (await api("/v1/communes")).body;
    communes.addData(communesCache);
  }

  async function loadAround() {
    const bounds = map.getBounds();
    const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(5)).join(",");
    if (map.hasLayer(assets)) await loadAssets(bbox);
    if (map.hasLayer(traffic)) {
      traffic.clearLayers();
      try {
        traffic.addData((await api("/v1/mobility/traffic", { query: { bbox, limit: 200 } })).body);
      } catch (_) {
        /* no traffic feed */
      }
    }
    if (map.hasLayer(parkings)) {
      parkings.clearLayers();
      const centre = map.getCenter();
      try {
        const page = (await api("/v1/mobility/parkings", { query: { lon: centre.lng.toFixed(5), lat: centre.lat.toFixed(5), radius: 3000, limit: 100 } })).body;
        for (const parking of page.items) {
          const point = parking.location?.coordinates;
          if (!point) continue;
          L.circleMarker([point[1], point[0]], { radius: 6, className: "parking-marker", weight: 2 })
            .bindTooltip(t("map.parking", { name: parking.name || parking.source_id, free: parking.free_spaces ?? "?" }))
            .addTo(parkings);
        }
      } catch (_) {
        /* no parking feed */
      }
    }
  }
  function bboxOf() {
    const bounds = map.getBounds();
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(5)).join(",");
  }

  // The equipment in view with its live state (GeoJSON), drawn by state; the last answer
  // wins when moves overlap.
  let assetLoad = 0;
  async function loadAssets(bbox = bboxOf()) {
    const mine = ++assetLoad;
    if (map.getZoom() < assetZoom) {
      assets.clearLayers();
      assetMarkers.clear();
      assetItems = [];
      onAssets(assetItems);
      return;
    }
    let collection;
    try {
      collection = (await api("/v1/assets/geojson", { query: { bbox, limit: 200 } })).body;
    } catch (_) {
      return; /* the layer stays as it was: the queue does not depend on it */
    }
    if (mine !== assetLoad) return;
    assets.clearLayers();
    assetMarkers.clear();
    assetItems = collection.features.map((feature) => ({ ...feature.properties, point: feature.geometry.coordinates }));
    for (const asset of assetItems) drawAsset(asset);
    element.dataset.assetsLoaded = String(assetLoad);
    onAssets(assetItems);
  }

  function drawAsset(asset) {
    const [lon, lat] = asset.point;
    const circle = L.circleMarker([lat, lon], {
      radius: asset.reference === selectedAsset ? 9 : 6,
      className: markerClass(asset, asset.reference === selectedAsset),
      weight: 2,
    })
      .bindTooltip(markerTitle(asset))
      .addTo(assets);
    if (onAsset) circle.on("click", () => onAsset(asset.reference));
    const path = circle.getElement();
    if (path) {
      path.dataset.reference = asset.reference;
      path.dataset.state = stateOf(asset);
      path.dataset.stale = String(Boolean(asset.live?.stale));
    }
    assetMarkers.set(asset.reference, circle);
  }

  map.on("moveend overlayadd", () => loadAround());
  loadCommunes().catch(() => {});
  loadAround();
  const assetTimer = window.setInterval(() => {
    if (map.hasLayer(assets)) loadAssets();
  }, ASSET_RELOAD_MS);

  return {
    map,
    setReports(items, selectedId) {
      reports.clearLayers();
      markers.clear();
      for (const item of items) {
        const point = item.location?.coordinates;
        if (!point) continue;
        const selected = item.id === selectedId ? " report-marker--selected" : "";
        const circle = marker(item.id, [point[1], point[0]], `${statusClass(item.status)} report-marker-${item.id}${selected}`, `${item.reference} · ${t(`status.${item.status}`)}`);
        circle.addTo(reports);
        markers.set(item.id, circle);
      }
    },
    setNearby(items) {
      nearby.clearLayers();
      for (const item of items) {
        const point = item.location?.coordinates;
        if (!point || markers.has(item.id)) continue;
        marker(item.id, [point[1], point[0]], `report-marker report-marker--nearby report-marker-${item.id}`, `${item.reference || item.id}`).addTo(nearby);
      }
    },
    fit() {
      const layers = reports.getLayers();
      if (!layers.length) return false;
      map.fitBounds(L.featureGroup(layers).getBounds(), { padding: [24, 24], maxZoom: 15 });
      return true;
    },
    focus(item) {
      const point = item?.location?.coordinates;
      if (point) map.panTo([point[1], point[0]]);
    },
    pick() {
      element.classList.add("map--picking");
      return new Promise((resolve) => {
        picking = resolve;
      });
    },
    cancelPick() {
      picking = null;
      element.classList.remove("map--picking");
    },
    invalidate() {
      map.invalidateSize();
    },
    // The equipment layer: reloaded now (a command settled), its items, one selected.
    reloadAssets() {
      return map.hasLayer(assets) ? loadAssets() : Promise.resolve();
    },
    get assets() {
      return assetItems;
    },
    selectAsset(reference) {
      selectedAsset = reference;
      for (const asset of assetItems) {
        const circle = assetMarkers.get(asset.reference);
        if (!circle) continue;
        circle.remove();
        assetMarkers.delete(asset.reference);
        drawAsset(asset);
      }
    },
    destroy() {
      window.clearInterval(assetTimer);
      map.remove();
    },
  };
}

export { formatNumber };
