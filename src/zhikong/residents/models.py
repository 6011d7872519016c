"""Resident table: a person the platform knows, identity kept as a keyed hash."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhikong.store.base import Base, BigIntKey, UTCDateTime


class Resident(Base):
    """A person living in a county; identity kept as a keyed hash and sealed fields only."""

    __tablename__ = "resident"
    __table_args__ = (Index("ix_resident_county_birth", "county_code", "birth_date"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    county_code: Mapped[str] = mapped_column(
        String(32), ForeignKey("region.code", ondelete="RESTRICT"), nullable=False
    )
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    id_type: Mapped[str | None] = mapped_column(String(32))
    id_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_lookup_version: Mapped[int | None] = mapped_column(Integer)
    name_masked: Mapped[str | None] = mapped_column(String(64))
    name_sealed: Mapped[str | None] = mapped_column(String(512))
    phone_sealed: Mapped[str | None] = mapped_column(String(512))
    registered_by: Mapped[str | None] = mapped_column(String(128))
