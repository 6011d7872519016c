"""Connect the domains: extension points a lower domain offers, filled in by a higher one.

A layer may import only the layers below it (docs/architecture.md). Where a lower domain needs
to hear from a higher one, it offers an extension point and the composition layer fills it
here, once, before the app or a command runs:

- region recolouring (code) asks who was in a region since an instant: besides declared trips,
  tracing answers with the residents scanned at the region's venues;
- the indicator import (risk map) also accepts the index's indicators, whose outside data
  (bus routes, electricity, parcels, ...) is stored with the risk map's indicator values.

`zhikong.app.create_app`, the `zhikong` command and the demo build call `connect_domains()`.
"""

from __future__ import annotations

from zhikong.code.recolour import add_presence_source
from zhikong.index.indicators import ZHIKONG_INDICATORS
from zhikong.riskmap.importer import accept_indicators
from zhikong.trace.scans import last_scanned_in


def connect_domains() -> None:
    """Fill every extension point with the domains that answer it (idempotent)."""
    add_presence_source("trace.scans", last_scanned_in)
    accept_indicators("index", (indicator.id for indicator in ZHIKONG_INDICATORS))
