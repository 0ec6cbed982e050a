"""Routing: where a report goes (desk by rule, crew by fit, equipment, duplicate, priority)
and the explanation agents read. Intake, triage and feeds call it; it imports no view."""
