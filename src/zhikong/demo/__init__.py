"""The demo: a synthetic resident population over the real geography of Zhejiang."""
