"""Residents' reports: intake, public reading, support."""
