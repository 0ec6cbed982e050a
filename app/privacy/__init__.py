"""Personal data: residents' rights (access, portability, erasure) and retention."""
