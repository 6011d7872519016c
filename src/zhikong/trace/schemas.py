"""API shapes of venues, scans, tracing runs, chains and clusters."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ClientId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class VenueCreate(BaseModel):
    """A venue registration (场所码申领)."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = ClientId
    name: str = Field(min_length=1, max_length=200)
    venue_type: str = Field(min_length=1, max_length=32, description="see GET /api/v1/venue-types")
    region_code: str = Field(min_length=6, max_length=32, description="county or finer region")
    lon: float = Field(ge=73.0, le=136.0)
    lat: float = Field(ge=3.0, le=54.0)


class VenueRead(BaseModel):
    """A venue as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    venue_type: str
    region_code: str
    county_code: str
    lon: float
    lat: float
    status: str
    registered_at: datetime
    approved_at: datetime | None


class VenueCode(BaseModel):
    """A venue's signed code (the QR text) and what it says."""

    venue_id: int
    text: str
    claims: dict[str, Any]


class ScanIn(BaseModel):
    """One scan from a checkpoint or an offline scanner (the resident's code was scanned)."""

    model_config = ConfigDict(extra="forbid")

    id: str = ClientId
    venue_id: int = Field(ge=1, le=2**62)
    at: datetime
    direction: Literal["in", "out"] = "in"
    code: str = Field(min_length=1, max_length=4400, description="the scanned health code text")


class VenueScanIn(BaseModel):
    """A resident scans a venue code with the app (the code holder's own account)."""

    model_config = ConfigDict(extra="forbid")

    id: str = ClientId
    resident_id: int = Field(ge=1, le=2**62)
    venue_code: str = Field(min_length=1, max_length=4400)
    at: datetime | None = None
    direction: Literal["in", "out"] = "in"


class ScanResult(BaseModel):
    """The outcome of one accepted scan: the entry decision, at once."""

    row: int
    id: str
    scan_id: int | None
    venue_id: int
    decision: str
    allowed: bool
    reason: dict[str, str]
    rule: str
    duplicate: bool = False


class RowError(BaseModel):
    """Why one row of a batch was rejected."""

    row: int
    id: str | None
    field: str
    message: str


class BatchResult(BaseModel):
    """What a batch upload did: accepted rows (with decisions), duplicates and rejections."""

    received: int
    accepted: int
    duplicates: int
    rejected: int
    results: list[ScanResult]
    errors: list[RowError]


class TraceCreate(BaseModel):
    """Run contact tracing for a case."""

    model_config = ConfigDict(extra="forbid")

    onset_at: datetime | None = Field(default=None, description="symptom onset")
    sampled_at: datetime | None = Field(default=None, description="first positive sample")
    isolated_at: datetime | None = Field(default=None, description="default: now")
    secondary: bool = Field(default=True, description="also trace secondary contacts")
    co_presence: bool = Field(default=False, description="also apply the 时空伴随 grid rule")
    window_minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class ContactRead(BaseModel):
    """A person found by tracing with the evidence."""

    resident_id: int
    level: str
    source_resident_id: int
    overlap_minutes: int
    first_at: datetime
    evidence: list[dict[str, Any]]
    event_id: int | None


class TraceRead(BaseModel):
    """A tracing run and what it found."""

    id: int
    case_resident_id: int
    period_start: datetime
    period_end: datetime
    truncated: bool
    rule: str
    parameters: dict[str, Any]
    close_contacts: int
    secondary_contacts: int
    co_presence: int
    recoloured: int
    contacts: list[ContactRead]


class PurgeResult(BaseModel):
    """What a retention purge deleted."""

    cutoff: datetime
    retention_days: int
    scans: int
    pings: int
