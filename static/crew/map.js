// The tickets on a map (Leaflet, served by Signale): circle markers drawn as vector layers,
// so the map works with no network; the city's tiles under them only when config.tile_url
// is set (and reachable).

import { addTexts, t } from "../common/i18n.js";

addTexts({
  fr: { "map.label": "Carte des tickets de l’équipe", "map.here": "Position de la tablette", "map.zoom_in": "Zoomer", "map.zoom_out": "Dézoomer" },
  en: { "map.label": "Map of the crew's tickets", "map.here": "The tablet's position", "map.zoom_in": "Zoom in", "map.zoom_out": "Zoom out" },
});

const DIJON = [47.322, 5.041];

export function ticketMap(element, { tileUrl, tickets, position, onSelect }) {
  element.setAttribute("role", "region");
  element.setAttribute("aria-label", t("map.label"));
  const map = L.map(element, { zoomControl: false, attributionControl: Boolean(tileUrl) }).setView(DIJON, 13);
  L.control.zoom({ zoomInTitle: t("map.zoom_in"), zoomOutTitle: t("map.zoom_out") }).addTo(map);
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 20 }).addTo(map);
  const points = [];
  for (const { record, status, label } of tickets) {
    const coordinates = record.item?.location?.coordinates;
    if (!coordinates) continue;
    const latlng = [coordinates[1], coordinates[0]];
    points.push(latlng);
    L.circleMarker(latlng, { radius: 11, weight: 3, className: `ticket-marker ticket-marker--${status}` })
      .bindTooltip(label)
      .on("click", () => onSelect(record.id))
      .addTo(map);
  }
  if (position) {
    const here = [position.lat, position.lon];
    points.push(here);
    L.circleMarker(here, { radius: 8, weight: 3, className: "here-marker" }).bindTooltip(t("map.here")).addTo(map);
  }
  if (points.length) map.fitBounds(points, { padding: [30, 30], maxZoom: 16, animate: false });
  return () => map.remove();
}
