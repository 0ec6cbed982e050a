"""Geography of the metropolis: communes and the service area they make up."""
