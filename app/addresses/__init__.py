"""The address register: the metropolis's official addresses, and geocoding against them.

The addresses have the Base Adresse Nationale's shape and are imported from its CSV files;
geocoding a written address needs no internet service: the register is ours, in PostgreSQL.
"""
