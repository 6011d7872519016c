"""The health code (一码): declarations, colour events and lifecycle, appeals, dependants."""
