"""The region registry: provinces, cities, counties and finer units, their packs and boundaries."""
