"""Build the demo database: schema, the Zhejiang region pack and a synthetic population."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from zhikong.audit.verification import export_anchor
from zhikong.auth.policy import Principal
from zhikong.auth.service import bootstrap_admin, create_user
from zhikong.clock import Clock, local_date
from zhikong.code import events, recolour
from zhikong.code.models import Trip
from zhikong.code.policy import DEFAULT_PROFILE, ColourPolicy
from zhikong.code.recolour import ensure_green_codes
from zhikong.code.schemas import CheckinCreate, EventCreate, OverrideCreate
from zhikong.credential.issuer import ensure_issuer_key
from zhikong.demo.identities import synthetic_identity
from zhikong.demo.population import CountyProfile, generate
from zhikong.index import demo as index_demo
from zhikong.keys import KeyStore
from zhikong.regions.models import Region
from zhikong.regions.packs import DEFAULT_PACK, read_pack
from zhikong.regions.service import install_pack
from zhikong.residents.models import Resident
from zhikong.residents.service import (
    ResidentRow,
    attach_identity,
    bulk_insert_residents,
    count_residents,
)
from zhikong.riskmap import demo as riskmap_demo
from zhikong.store import migrate
from zhikong.store.engine import make_sessionmaker, transaction
from zhikong.store.meta import get_meta, set_meta
from zhikong.trace import demo as trace_demo
from zhikong.wiring import connect_domains

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


# Demo staff accounts: (username, display name, role, region). Two neighbouring county
# officers show jurisdictions at work: each sees only its own county.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "系统管理员 · Administrator", "admin", None),
    ("zj.commander", "浙江省指挥部 · Zhejiang command centre", "commander", "330000"),
    ("hz.commander", "杭州市指挥部 · Hangzhou command centre", "commander", "330100"),
    ("shangcheng.officer", "上城区疾控 · Shangcheng health officer", "health-officer", "330102"),
    ("xihu.officer", "西湖区疾控 · Xihu health officer", "health-officer", "330106"),
)
DEMO_IDENTITIES = 200


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff account and its generated password."""

    username: str
    role: str
    region_code: str | None
    password: str


@dataclass(frozen=True)
class DemoReport:
    """What `zhikong demo` built."""

    regions: int
    counties: int
    residents: int
    identities: int
    seed: int
    backend: str
    accounts: tuple[DemoAccount, ...]


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
    keys: KeyStore,
    timezone: str = "Asia/Shanghai",
    profile: str = DEFAULT_PROFILE,
    issuer_key_dir: Path | None = None,
    issuer_region: str = "330000",
    progress: Progress | None = None,
    fresh: Callable[[Engine], None] = migrate.drop_everything,
) -> DemoReport:
    """Rebuild the database from nothing and fill it with the demo province."""
    connect_domains()
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

    progress.start("演示账号与身份 · demo accounts and identities", DEMO_IDENTITIES)
    with transaction(factory) as session:
        accounts = _create_accounts(session, clock)
        identities = _attach_identities(session, keys, clock, seed, progress)
    progress.finish()

    progress.start("发布规则 · publishing rule documents", None)
    with transaction(factory) as session:
        published = _publish_rules(session, clock)
    progress.finish()

    progress.start("健康码 · health codes", None)
    if issuer_key_dir is not None:
        ensure_issuer_key(issuer_key_dir, issuer_region, clock.now())
    policy = ColourPolicy.named(profile, timezone)
    with transaction(factory) as session:
        ensure_green_codes(session, clock, policy)
    with transaction(factory) as session:
        story = _code_story(session, clock, policy, seed, reference_day)
    with transaction(factory) as session:
        traced = trace_demo.seed(session, clock, policy, seed, keys=keys)
        story.update({f"trace_{name}": count for name, count in traced.items()})
    story.update(riskmap_demo.replay(factory, clock, policy, seed, reference_day, timezone))
    story.update(index_demo.replay(factory, clock, seed, riskmap_demo.replay_days(reference_day)))
    with transaction(factory) as session:
        # A signed anchor of the audit log's head, as an operator would export daily.
        export_anchor(session, keys, clock)
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
                "identities": identities,
                "accounts": [a.username for a in accounts],
                "code_profile": profile,
                "rules_published": published,
                "code_story": story,
                "built_at": now.isoformat(),
            },
            now,
        )
    return DemoReport(
        regions=len(pack.regions),
        counties=len(counties),
        residents=inserted,
        identities=identities,
        seed=seed,
        backend=engine.url.get_backend_name(),
        accounts=accounts,
    )


def _create_accounts(session: Session, clock: Clock) -> tuple[DemoAccount, ...]:
    """The demo staff accounts, each with a fresh random password."""
    created = []
    admin: Principal | None = None
    for username, display, role, region in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        if admin is None:
            user = bootstrap_admin(
                session, clock, username=username, password=password, region_code=region
            )
            user.display_name = display
            admin = Principal("user", user.id, "admin", None, None)
        else:
            create_user(
                session,
                clock,
                admin,
                username=username,
                display_name=display,
                password=password,
                role=role,
                region_code=region,
            )
        created.append(DemoAccount(username, role, region, password))
    return tuple(created)


def _attach_identities(
    session: Session, keys: KeyStore, clock: Clock, seed: int, progress: Progress
) -> int:
    """Give some synthetic residents of the two demo counties made-up identities."""
    rng = random.Random(seed)
    residents = session.scalars(
        select(Resident)
        .where(Resident.county_code.in_(["330102", "330106"]))
        .order_by(Resident.id)
        .limit(DEMO_IDENTITIES)
    ).all()
    for resident in residents:
        identity = synthetic_identity(rng, resident.county_code, resident.sex, resident.birth_date)
        attach_identity(
            session,
            keys,
            clock,
            "system:demo",
            resident,
            id_type="cn-resident",
            id_number=identity.id_number,
            name=identity.name,
            phone=identity.phone,
        )
        progress.advance(1)
    return len(residents)


DEMO_HIGH_RISK_COUNTY = "330382"  # 乐清市: Wenzhou had Zhejiang's largest outbreak in Feb 2020
DEMO_TRAVELLERS = 2_000


def _code_story(
    session: Session, clock: Clock, policy: ColourPolicy, seed: int, today: date
) -> dict[str, int]:
    """Events that give the demo province codes of every colour, each through the rules."""
    rng = random.Random(seed + 1)
    actor = "system:demo"
    people = session.scalars(
        select(Resident).where(Resident.county_code == "330102").order_by(Resident.id).limit(12)
    ).all()
    counts = {"red": 0, "yellow": 0}
    if len(people) >= 12:
        case, *rest = people
        plan = [
            (
                case,
                EventCreate(
                    client_request_id="demo-case-0001", kind="case_report", case_status="confirmed"
                ),
            ),
            *(
                (
                    person,
                    EventCreate(client_request_id=f"demo-contact-{i:04d}", kind="close_contact"),
                )
                for i, person in enumerate(rest[:3])
            ),
            *(
                (
                    person,
                    EventCreate(client_request_id=f"demo-second-{i:04d}", kind="secondary_contact"),
                )
                for i, person in enumerate(rest[3:5])
            ),
        ]
        for person, event in plan:
            events.officer_event(session, clock, policy, person, actor=actor, body=event)
        for i, person in enumerate(rest[5:9]):
            events.checkin(
                session,
                clock,
                policy,
                person,
                actor=actor,
                body=CheckinCreate(
                    client_request_id=f"demo-fever-{i:04d}", temperature=38.2, symptoms=["fever"]
                ),
            )
        events.override(
            session,
            clock,
            policy,
            rest[9],
            actor=actor,
            body=OverrideCreate(
                client_request_id="demo-override-0001",
                colour="yellow",
                until=clock.now() + timedelta(days=7),
                legal_basis="《中华人民共和国传染病防治法》第三十九条（演示 · demo）",
            ),
        )
    # Travellers back from a county that then turns high-risk: one batch recolours them all.
    travellers = session.scalars(
        select(Resident.id)
        .where(Resident.county_code != DEMO_HIGH_RISK_COUNTY)
        .order_by(Resident.id)
    ).all()
    wanted = min(DEMO_TRAVELLERS, max(10, len(travellers) // 50), len(travellers))
    chosen = sorted(rng.sample(list(travellers), wanted))
    now = clock.now()
    trips = []
    for resident_id in chosen:
        left = today - timedelta(days=rng.randrange(0, 12))
        trips.append(
            {
                "resident_id": resident_id,
                "declaration_id": None,
                "region_code": DEMO_HIGH_RISK_COUNTY,
                "overseas": False,
                "arrived_on": left - timedelta(days=rng.randrange(0, 3)),
                "left_on": left,
                "recorded_at": now,
            }
        )
    if trips:
        session.execute(insert(Trip), trips)
    _, affected, recoloured, _ = recolour.designate_region(
        session,
        clock,
        policy,
        actor=actor,
        region_code=DEMO_HIGH_RISK_COUNTY,
        level="high",
        window_days=14,
        basis="演示：乐清市列为高风险地区 · demo: Yueqing designated high-risk",
    )
    counts["travellers"] = affected
    counts["recoloured"] = recoloured
    return counts


def _publish_rules(session: Session, clock: Clock) -> list[str]:
    """Publish the shipped rule documents (colour profiles and the library) to the registry."""
    from importlib import resources

    from zhikong.rules.service import publish_text

    published = []
    for package, folder in (("zhikong.code", "profiles"), ("zhikong.rules", "library")):
        for item in sorted(
            resources.files(package).joinpath(folder).iterdir(), key=lambda p: p.name
        ):
            if item.name.endswith(".yaml"):
                result = publish_text(
                    session, clock, item.read_text(encoding="utf-8"), actor="system:demo"
                )
                published.append(f"{result.rule.rule_id}@{result.rule.version}")
    return published
