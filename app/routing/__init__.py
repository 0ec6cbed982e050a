"""Routing: where a report goes, and the explanation agents read of why.

Desk by rule, crew by fit, equipment, duplicate, priority. Intake, triage and feeds call it;
it imports no view. intake.py: the one intake statement, route() and priority_for;
choice.py: the desk rules and the crew choice; rerouting.py: a report routed again by the
desk (another category, another desk); explanation.py: every entry of the explanation,
worded once.
"""
