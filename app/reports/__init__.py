"""Residents' reports: intake, public reading, support, the report's photos."""
