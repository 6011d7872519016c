"""一图 · the five-colour risk map: risk profiles, assessments, overrides, batch runs."""
