"""The tests, mirroring app/, on the real PostgreSQL/PostGIS, Redis and processes."""
