"""Open data: the city's reports, anonymised, as downloadable files (GeoJSON, CSV, GeoParquet)."""
