"""The control centre's organisation: desks and field crews."""
