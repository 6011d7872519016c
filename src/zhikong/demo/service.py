"""Build the demo database: schema, the Zhejiang region pack and a synthetic population."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, select

from zhikong.clock import Clock, local_date
from zhikong.demo.population import CountyProfile, generate
from zhikong.map.models import Region
from zhikong.map.packs import DEFAULT_PACK, read_pack
from zhikong.map.service import install_pack
from zhikong.residents.service import ResidentRow, bulk_insert_residents, count_residents
from zhikong.store import migrate
from zhikong.store.engine import make_sessionmaker, transaction
from zhikong.store.meta import get_meta, set_meta

DEMO_META_KEY = "demo"


class Progress(Protocol):
    """Receives progress of the long demo steps."""

    def start(self, step: str, total: int | None) -> None:
        """A step begins; total is its number of units when known."""

    def advance(self, amount: int) -> None:
        """Units of the current step are done."""

    def finish(self) -> None:
        """The current step is done."""


class SilentProgress:
    """Progress that shows nothing (tests, scripts)."""

    def start(self, step: str, total: int | None) -> None:
        """Ignore the start of a step."""

    def advance(self, amount: int) -> None:
        """Ignore progress."""

    def finish(self) -> None:
        """Ignore the end of a step."""


class NotADemoDatabaseError(RuntimeError):
    """The target database holds data that the demo did not create."""


@dataclass(frozen=True)
class DemoReport:
    """What `zhikong demo` built."""

    regions: int
    counties: int
    residents: int
    seed: int
    backend: str


def ensure_demo_or_empty(engine: Engine) -> None:
    """Refuse to wipe a database that holds anything but a previous demo."""
    if migrate.current_revision(engine) is None:
        return
    factory = make_sessionmaker(engine)
    with factory() as session:
        if get_meta(session, DEMO_META_KEY) is not None:
            return
        if count_residents(session) == 0:
            return
    raise NotADemoDatabaseError(
        "the database holds residents that the demo did not create; "
        "use another database or pass --force"
    )


def build_demo(
    engine: Engine,
    *,
    people: int,
    seed: int,
    clock: Clock,
    timezone: str = "Asia/Shanghai",
    progress: Progress | None = None,
    fresh: Callable[[Engine], None] = migrate.drop_everything,
) -> DemoReport:
    """Rebuild the database from nothing and fill it with the demo province."""
    progress = progress or SilentProgress()
    progress.start("重建数据库 · resetting database", None)
    fresh(engine)
    migrate.upgrade(engine)
    progress.finish()

    progress.start("载入浙江区划 · loading Zhejiang regions", None)
    pack = read_pack(DEFAULT_PACK)
    factory = make_sessionmaker(engine)
    now = clock.now()
    reference_day = local_date(clock, timezone)
    with transaction(factory) as session:
        install_pack(session, pack, now)
        counties = [
            CountyProfile(
                code=region.code,
                population=region.population or 0,
                sex_ratio=float(region.extra["sex_ratio"]),
                age_bands=region.extra["age_bands"],
            )
            for region in session.scalars(
                select(Region)
                .where(Region.level == "county", Region.pack == pack.name)
                .order_by(Region.code)
            )
        ]
    progress.finish()

    progress.start("生成合成居民 · generating synthetic residents", people)
    with engine.begin() as connection:
        rows: Iterator[list[ResidentRow]] = (
            [(p.county_code, p.sex, p.birth_date, True, now) for p in batch]
            for batch in generate(counties, people, seed, reference_day)
        )
        inserted = bulk_insert_residents(connection, rows, progress.advance)
    progress.finish()

    with transaction(factory) as session:
        set_meta(
            session,
            DEMO_META_KEY,
            {
                "synthetic": True,
                "people": inserted,
                "seed": seed,
                "pack": pack.name,
                "reference_day": reference_day.isoformat(),
                "built_at": now.isoformat(),
            },
            now,
        )
    return DemoReport(
        regions=len(pack.regions),
        counties=len(counties),
        residents=inserted,
        seed=seed,
        backend=engine.url.get_backend_name(),
    )
