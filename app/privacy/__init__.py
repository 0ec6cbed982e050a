"""Residents' rights over their personal data: access, portability and erasure."""
