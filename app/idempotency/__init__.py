"""Idempotency-Key (IETF httpapi draft): a retried request never creates a duplicate."""
