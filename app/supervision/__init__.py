"""Supervision: every desk's workload, lateness and service level, and every crew's load."""
