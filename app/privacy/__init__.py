"""Personal data: residents' rights (access, portability, erasure), retention, the register."""
