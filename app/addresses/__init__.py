"""The address register: the official addresses of the metropolis (Base Adresse Nationale
shape), imported from its CSV files, and geocoding of a written address against it (no
internet service is needed: the register is ours, in PostgreSQL).
"""
