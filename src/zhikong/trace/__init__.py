"""Venues (场所码), scans, contact tracing, spatio-temporal companions, chains and clusters."""
