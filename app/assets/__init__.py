"""Equipment on the street, which reports are routed to.

Street lights, traffic signals, cameras, drains, signs, benches and points of interest.
"""
