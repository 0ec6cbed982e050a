"""Audit trail: who among staff read or changed personal data, and when."""
