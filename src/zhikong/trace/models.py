"""Tracing tables: venues, scans, telecom grid pings, tracing runs and the contacts they found.

Scans and pings are high-volume append tables: they carry no foreign keys (every row is
validated when it is ingested, and purge deletes by time), only the indexes the interval
queries need: ``(venue_id, at)`` for who was at a venue when, ``(resident_id, at)`` for where a
case went, and ``(grid, start_at)`` for who shared a grid cell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime

VENUE_STATUSES = ("pending", "approved", "suspended")
DIRECTIONS = ("in", "out")
SCAN_METHODS = ("venue_code", "checkpoint")
CONTACT_LEVELS = ("close_contact", "secondary_contact", "co_presence")


class Venue(Base):
    """A registered venue (场所) with its location; scans need it approved."""

    __tablename__ = "trace_venue"
    __table_args__ = (
        Index("uq_trace_venue_client", "registered_by", "client_request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    venue_type: Mapped[str] = mapped_column(String(32), nullable=False)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False, index=True)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    registered_by: Mapped[str] = mapped_column(String(128), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    client_request_id: Mapped[str] = mapped_column(String(64), nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Scan(Base):
    """One entry or exit record: a pseudonymous person, a venue, a time and the decision."""

    __tablename__ = "trace_scan"
    __table_args__ = (
        Index("uq_trace_scan_client_id", "client_id", unique=True),
        Index("ix_trace_scan_venue_at", "venue_id", "at"),
        Index("ix_trace_scan_resident_at", "resident_id", "at"),
        Index("ix_trace_scan_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    resident_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    venue_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    direction: Mapped[str] = mapped_column(String(3), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    colour: Mapped[str | None] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(32), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(80), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(128), nullable=False)


class Ping(Base):
    """A stay of one person in one telecom grid cell (时空网格), from a telecom feed."""

    __tablename__ = "trace_ping"
    __table_args__ = (
        Index("ix_trace_ping_grid_start", "grid", "start_at"),
        Index("ix_trace_ping_resident_start", "resident_id", "start_at"),
        Index("ix_trace_ping_end", "end_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    grid: Mapped[str] = mapped_column(String(32), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class TraceRun(Base):
    """One tracing of one case: its infectious period, the rule used and what it found."""

    __tablename__ = "trace_run"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    case_resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id"), nullable=False, index=True
    )
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False, index=True)
    run_by: Mapped[str] = mapped_column(String(128), nullable=False)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    rule_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(16), nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    close_contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    secondary_contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    co_presence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class TraceContact(Base):
    """A person found by a tracing run, with the evidence (venue, overlap) and the event made."""

    __tablename__ = "trace_contact"
    __table_args__ = (
        Index("ix_trace_contact_run", "run_id"),
        Index("ix_trace_contact_resident", "resident_id"),
        Index("ix_trace_contact_source", "source_resident_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("trace_run.id"), nullable=False)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False)
    level: Mapped[str] = mapped_column(String(24), nullable=False)
    source_resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    overlap_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
