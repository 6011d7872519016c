"""Health-code tables: declarations, trips, colour events, current codes, colour history,
appeals, code holders (self and dependants) and risk designations of regions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime

COLOURS = ("green", "yellow", "orange", "red")
SEVERITY = {colour: rank for rank, colour in enumerate(COLOURS)}

EVENT_KINDS = (
    "declaration",  # a declaration's own facts (symptoms, trips, contact history)
    "checkin",  # daily health check-in
    "case_report",  # confirmed / suspected / asymptomatic
    "case_closed",  # recovered, or excluded (ruled out)
    "test_result",  # nucleic-acid test, positive or negative
    "close_contact",  # found by tracing
    "secondary_contact",  # found by tracing
    "co_presence",  # 时空伴随
    "region_risk",  # a region the person visited became medium/high risk
    "quarantine_start",
    "quarantine_end",
    "false_declaration",  # established by an officer
    "appeal_upheld",  # voids earlier events
    "override",  # manual colour with legal basis and expiry
)


class Declaration(Base):
    """A self-declaration (申领/健康申报), kept exactly as submitted (sealed) and never changed."""

    __tablename__ = "code_declaration"
    __table_args__ = (
        Index("uq_code_declaration_client", "submitted_by", "client_request_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False, index=True)
    submitted_by: Mapped[str] = mapped_column(String(128), nullable=False)
    client_request_id: Mapped[str] = mapped_column(String(64), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submission_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    submission_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    nationality: Mapped[str] = mapped_column(String(3), nullable=False)
    household_region: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    address_region: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    temperature_decidegrees: Mapped[int] = mapped_column(Integer, nullable=False)
    symptoms: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    underlying_conditions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    contact_history: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    pledge: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Trip(Base):
    """A declared journey (行程): where the person was, from when to when."""

    __tablename__ = "code_trip"
    __table_args__ = (Index("ix_code_trip_region_left", "region_code", "left_on"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False, index=True)
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("code_declaration.id"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"))
    overseas: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    arrived_on: Mapped[date] = mapped_column(Date, nullable=False)
    left_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CodeEvent(Base):
    """Something that may change a colour. The colour is always computed from these."""

    __tablename__ = "code_event"
    __table_args__ = (Index("ix_code_event_resident_at", "resident_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(128), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    source: Mapped[str | None] = mapped_column(String(128))  # e.g. declaration:17, appeal:3
    client_request_id: Mapped[str | None] = mapped_column(String(64))


class HealthCode(Base):
    """A resident's current code: the latest result of the colour policy over their events."""

    __tablename__ = "health_code"
    __table_args__ = (Index("ix_health_code_county_colour", "county_code", "colour"),)

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    profile: Mapped[str] = mapped_column(String(128), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(64), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    override_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False, index=True)


class ColourChange(Base):
    """One change of a resident's colour (the history behind notifications and statistics)."""

    __tablename__ = "code_colour_change"
    __table_args__ = (Index("ix_code_colour_change_resident", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    old_colour: Mapped[str | None] = mapped_column(String(8))
    new_colour: Mapped[str] = mapped_column(String(8), nullable=False)
    profile: Mapped[str] = mapped_column(String(128), nullable=False)
    rule_version: Mapped[str] = mapped_column(String(64), nullable=False)
    cause: Mapped[str] = mapped_column(String(128), nullable=False)
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False, index=True)


class CodeHolder(Base):
    """An account that holds a resident's code: the person themself or, with consent, another."""

    __tablename__ = "code_holder"
    __table_args__ = (Index("uq_code_holder", "user_id", "resident_id", unique=True),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False, index=True)
    relation: Mapped[str] = mapped_column(String(16), nullable=False)  # self | dependant
    consent: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Appeal(Base):
    """A resident's challenge to a colour or to data (申诉/纠错), with a tracked deadline."""

    __tablename__ = "code_appeal"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), nullable=False, index=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False, index=True)
    submitted_by: Mapped[str] = mapped_column(String(128), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # colour | data
    text: Mapped[str] = mapped_column(String(2000), nullable=False)
    evidence: Mapped[str | None] = mapped_column(String(4000))
    event_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision: Mapped[str | None] = mapped_column(String(2000))


class RiskDesignation(Base):
    """A region's risk level as the code policy sees it (from the risk map or an officer)."""

    __tablename__ = "code_risk_designation"
    __table_args__ = (Index("ix_code_risk_designation_region", "region_code", "effective_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)  # low | medium | high
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    window_days: Mapped[int] = mapped_column(Integer, nullable=False)
    designated_by: Mapped[str] = mapped_column(String(128), nullable=False)
    basis: Mapped[str] = mapped_column(String(500), nullable=False)
    affected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
