"""The map domain: the region registry (province, city, county and finer units)."""
