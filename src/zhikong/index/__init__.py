"""精密智控指数 — the precision-control index: indicators, normalisation, weights, breakdown.

The maths (`compute`) is pure; indicator definitions and index configurations are data
(`indicators`, `configs/*.yaml`); `oxcgrt` reads OxCGRT's own CSV layouts so that the same
machinery reproduces Oxford's published indices; `cli` is the `zhikong index` command.
"""
