"""Residents: the people the platform serves (the demo fills it with a synthetic population)."""
