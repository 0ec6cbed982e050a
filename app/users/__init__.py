"""Identities and roles: Firebase ID tokens, our staff table, and who may do what."""
