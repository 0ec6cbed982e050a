"""Equipment on the street: street lights, traffic signals, cameras, drains, signs, benches
and points of interest, which reports are routed to."""
