"""Personal data: residents' rights, retention, the register."""
