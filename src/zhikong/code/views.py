"""Health-code API: the GB/T 38963 interfaces (declaration, trip declaration, status query,
correction) plus check-ins, "why this colour", officers' events, overrides, appeals and region
risk changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhikong.api.deps import Platform, db_session, keystore, platform, unit_of_work
from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, allow, ensure_in_jurisdiction, jurisdiction_prefix
from zhikong.clock import local_date
from zhikong.code import appeals, declarations, events, holders, recolour
from zhikong.code.deps import CodeServices, code_services, resident_for
from zhikong.code.events import Outcome
from zhikong.code.models import Appeal, CodeEvent, HealthCode
from zhikong.code.notify import ColourNotice
from zhikong.code.schemas import (
    AppealCreate,
    AppealDecision,
    AppealRead,
    CheckinCreate,
    CodeRead,
    ColourCount,
    DeclarationCreate,
    DeclarationResult,
    EventCreate,
    EventResult,
    HeldCode,
    OverrideCreate,
    QuarantineRead,
    ReasonRead,
    RegionRiskCreate,
    RegionRiskResult,
    TripDeclaration,
    WhyRead,
)
from zhikong.code.statistics import colour_counts_by_county
from zhikong.regions.models import Region
from zhikong.residents.models import Resident

router = APIRouter(prefix="/api/v1/code", tags=["health code"])
ResidentId = Annotated[int, Path(ge=1, le=2**62)]
AppealId = Annotated[int, Path(ge=1, le=2**62)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}
COLOUR_ZH = {"green": "绿码", "yellow": "黄码", "orange": "橙码", "red": "红码"}


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except events.CodeInputError as exc:
        raise Problem.invalid(exc.field, str(exc)) from exc
    except events.CodeConflictError as exc:
        raise Problem(409, str(exc)) from exc


def code_read(code: HealthCode, resident: Resident) -> CodeRead:
    """The API shape of a code, with its holder's masked name."""
    stored = {name: getattr(code, name) for name in CodeRead.model_fields if name != "masked_name"}
    return CodeRead(masked_name=resident.name_masked, **stored)


def _event_result(
    session: Session,
    services: CodeServices,
    principal: Principal,
    resident_id: int,
    write: Callable[[Resident], tuple[CodeEvent, Outcome, bool]],
) -> EventResult:
    """Write one event for a resident the caller may act on; notify once it has committed."""
    with _translated(), unit_of_work(session):
        resident = resident_for(session, principal, resident_id)
        event, outcome, replayed = write(resident)
        result = EventResult(
            event_id=event.id, code=code_read(outcome.code, resident), replayed=replayed
        )
    services.notify(outcome.notices)
    return result


def _code_or_404(session: Session, resident_id: int) -> HealthCode:
    code = session.get(HealthCode, resident_id)
    if code is None:
        raise Problem(404, "this person has no health code yet")
    return code


# -- residents (and the accounts that hold their codes) ---------------------------------------


@router.post(
    "/declarations",
    response_model=DeclarationResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="用户健康信息申报 · Declare (apply for a code)",
)
def declare(
    body: DeclarationCreate,
    principal: Annotated[Principal, Depends(allow("code.declare"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> DeclarationResult:
    """Apply for a code for oneself or a dependant; the colour is computed at once."""
    if principal.kind != "user":
        raise Problem(403, "declarations come from a person's account")
    keys = keystore(held)
    today = local_date(held.clock, held.settings.timezone)
    with _translated(), unit_of_work(session):
        declaration, outcome, replayed = declarations.declare(
            session,
            keys,
            held.clock,
            services.policy,
            user_id=principal.id,
            actor=principal.actor,
            body=body,
            today=today,
        )
        resident = session.get(Resident, declaration.resident_id)
        assert resident is not None
        result = DeclarationResult(
            declaration_id=declaration.id,
            resident_id=resident.id,
            code=code_read(outcome.code, resident),
            replayed=replayed,
        )
    services.notify(outcome.notices)
    return result


@router.get("/mine", response_model=list[HeldCode], responses=PROBLEMS, summary="My codes")
def mine(
    principal: Annotated[Principal, Depends(allow("code.declare"))],
    session: Annotated[Session, Depends(db_session)],
) -> list[HeldCode]:
    """The codes this account holds: its own and its dependants' (一人绑定多人)."""
    result = []
    for holder in holders.holders_of(session, principal.id):
        code = session.get(HealthCode, holder.resident_id)
        resident = session.get(Resident, holder.resident_id)
        if code is not None and resident is not None:
            result.append(HeldCode(relation=holder.relation, code=code_read(code, resident)))
    return result


@router.get(
    "/residents/{resident_id}",
    response_model=CodeRead,
    responses=PROBLEMS,
    summary="用户健康信息查询 · Code status",
)
def status_query(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("code.read"))],
    session: Annotated[Session, Depends(db_session)],
) -> CodeRead:
    """A code's colour, since when, the rule version, and progress towards green."""
    resident = resident_for(session, principal, resident_id)
    return code_read(_code_or_404(session, resident_id), resident)


@router.get(
    "/residents/{resident_id}/why",
    response_model=WhyRead,
    responses=PROBLEMS,
    summary="Why this colour",
)
def why(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("code.read"))],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> WhyRead:
    """The reasons in plain words, the rule and version, the events behind it, what comes next."""
    resident = resident_for(session, principal, resident_id)
    code = _code_or_404(session, resident_id)
    policy = services.policy
    reasons = []
    for item in code.reasons:
        event = session.get(CodeEvent, item["event_id"])
        if event is None:
            continue
        if event.kind == "override":
            text = {
                "zh": f"人工赋码：{event.data.get('legal_basis', '')}",
                "en": f"Manual colour: {event.data.get('legal_basis', '')}",
            }
        else:
            text = policy.explain(event.data.get("facts", {}), policy.local_day(event.occurred_at))
        reasons.append(
            ReasonRead(
                event_id=event.id,
                kind=event.kind,
                at=event.occurred_at,
                demanded=item["demanded"],
                text=text,
            )
        )
    summary = _summary(code)
    override = None
    if code.override_until is not None and code.reasons:
        event = session.get(CodeEvent, code.reasons[0]["event_id"])
        override = {
            "until": code.override_until.isoformat(),
            "legal_basis": event.data.get("legal_basis") if event else None,
        }
    return WhyRead(
        resident_id=resident.id,
        colour=code.colour,
        since=code.since,
        rule_id=code.profile,
        rule_version=code.rule_version,
        summary=summary,
        reasons=reasons,
        next_step=_next_step(code),
        override=override,
    )


def _summary(code: HealthCode) -> dict[str, str]:
    zh = COLOUR_ZH.get(code.colour, code.colour)
    if code.colour == "green":
        return {
            "zh": "你的健康码为绿码：没有需要管控的情况。",
            "en": "Your code is green: nothing requires control.",
        }
    return {
        "zh": f"你的健康码为{zh}，依据规则 {code.profile} {code.rule_version}。",
        "en": f"Your code is {code.colour}, under rule {code.profile} {code.rule_version}.",
    }


def _next_step(code: HealthCode) -> dict[str, str] | None:
    progress = code.progress
    if code.override_until is not None:
        return {
            "zh": f"人工赋码有效期至 {code.override_until.isoformat()}，到期后按规则自动恢复。",
            "en": f"The manual colour expires at {code.override_until.isoformat()}; "
            "then the rule applies again.",
        }
    if not progress:
        return None
    if progress.get("blocked_by_case"):
        return {
            "zh": "病例结案后开始计算转绿条件。",
            "en": "Counting towards green starts when the case is closed.",
        }
    required, done = progress["required"], progress["done"]
    parts_zh, parts_en = [], []
    names = {
        "quarantine_days": ("隔离", "days of quarantine", "天"),
        "checkins": ("连续正常打卡", "consecutive normal check-ins", "天"),
        "negative_tests": ("连续每日核酸阴性", "consecutive daily negative tests", "次"),
    }
    for key, need in required.items():
        if need:
            zh_name, en_name, unit = names[key]
            left = max(0, need - done.get(key, 0))
            parts_zh.append(f"{zh_name}还需 {left} {unit}（已 {done.get(key, 0)}/{need}）")
            parts_en.append(f"{left} more {en_name} ({done.get(key, 0)}/{need})")
    if not parts_zh:
        return None
    return {
        "zh": "转为绿码：" + "；".join(parts_zh) + "。漏打卡或异常会重新计数。",
        "en": "To turn green: "
        + "; ".join(parts_en)
        + ". A missed or abnormal day restarts the count.",
    }


@router.post(
    "/residents/{resident_id}/trips",
    response_model=EventResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="用户行程申报 · Declare trips",
)
def declare_trips(
    resident_id: ResidentId,
    body: TripDeclaration,
    principal: Annotated[Principal, Depends(allow("code.declare"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> EventResult:
    """Add journeys to a code; trips through risk areas change its colour at once."""
    today = local_date(held.clock, held.settings.timezone)
    return _event_result(
        session,
        services,
        principal,
        resident_id,
        lambda resident: declarations.declare_trips(
            session,
            held.clock,
            services.policy,
            resident,
            actor=principal.actor,
            trips=body.trips,
            client_request_id=body.client_request_id,
            today=today,
        ),
    )


@router.post(
    "/residents/{resident_id}/checkins",
    response_model=EventResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="健康打卡 · Daily check-in",
)
def checkin(
    resident_id: ResidentId,
    body: CheckinCreate,
    principal: Annotated[Principal, Depends(allow("code.declare"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> EventResult:
    """Temperature and symptoms of the day; normal days count towards green."""
    return _event_result(
        session,
        services,
        principal,
        resident_id,
        lambda resident: events.checkin(
            session, held.clock, services.policy, resident, actor=principal.actor, body=body
        ),
    )


@router.post(
    "/residents/{resident_id}/appeals",
    response_model=AppealRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="用户健康信息纠错 · Appeal or correct",
)
def appeal(
    resident_id: ResidentId,
    body: AppealCreate,
    principal: Annotated[Principal, Depends(allow("code.declare"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> AppealRead:
    """Challenge a colour or data; an officer of the person's county decides within 3 days."""
    with _translated(), unit_of_work(session):
        resident = resident_for(session, principal, resident_id)
        item, _ = appeals.submit_appeal(
            session, held.clock, resident, actor=principal.actor, body=body
        )
        result = _appeal_read(item, held.clock.now())
    return result


@router.get("/residents/{resident_id}/appeals", response_model=list[AppealRead], responses=PROBLEMS)
def appeals_of(
    resident_id: ResidentId,
    principal: Annotated[Principal, Depends(allow("code.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
) -> list[AppealRead]:
    """A code's appeals and their state."""
    resident_for(session, principal, resident_id)
    rows = session.scalars(
        select(Appeal).where(Appeal.resident_id == resident_id).order_by(Appeal.id)
    ).all()
    return [_appeal_read(a, held.clock.now()) for a in rows]


def _appeal_read(item: Appeal, now: datetime) -> AppealRead:
    read = AppealRead.model_validate(item)
    read.overdue = item.status == "open" and item.deadline_at < now
    return read


# -- officers ------------------------------------------------------------------------------------


@router.post(
    "/residents/{resident_id}/events",
    response_model=EventResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Report a case, a test, a tracing finding, a quarantine",
)
def officer_event(
    resident_id: ResidentId,
    body: EventCreate,
    principal: Annotated[Principal, Depends(allow("code.event"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> EventResult:
    """An officer's event about a resident of their jurisdiction; the colour follows the rule."""
    return _event_result(
        session,
        services,
        principal,
        resident_id,
        lambda resident: events.officer_event(
            session, held.clock, services.policy, resident, actor=principal.actor, body=body
        ),
    )


@router.post(
    "/residents/{resident_id}/overrides",
    response_model=EventResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="Manual colour with legal basis and expiry",
)
def override(
    resident_id: ResidentId,
    body: OverrideCreate,
    principal: Annotated[Principal, Depends(allow("code.override"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> EventResult:
    """A manual colour (audited), only by an officer of the person's jurisdiction; it expires."""
    return _event_result(
        session,
        services,
        principal,
        resident_id,
        lambda resident: events.override(
            session, held.clock, services.policy, resident, actor=principal.actor, body=body
        ),
    )


@router.get(
    "/appeals", response_model=list[AppealRead], responses=PROBLEMS, summary="Appeals queue"
)
def appeals_queue(
    principal: Annotated[Principal, Depends(allow("code.appeal.decide"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    state: Annotated[str, Query(alias="status", pattern="^(open|upheld|rejected|all)$")] = "open",
) -> list[AppealRead]:
    """Appeals of the caller's jurisdiction, oldest deadline first, overdue ones flagged."""
    query = select(Appeal).join(Region, Region.code == Appeal.county_code)
    prefix = jurisdiction_prefix(principal)
    if prefix is not None:
        query = query.where(Region.path.startswith(prefix, autoescape=True))
    if state != "all":
        query = query.where(Appeal.status == state)
    rows = session.scalars(query.order_by(Appeal.deadline_at, Appeal.id).limit(500)).all()
    return [_appeal_read(a, held.clock.now()) for a in rows]


@router.post("/appeals/{appeal_id}/decision", response_model=AppealRead, responses=PROBLEMS)
def decide_appeal(
    appeal_id: AppealId,
    body: AppealDecision,
    principal: Annotated[Principal, Depends(allow("code.appeal.decide"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> AppealRead:
    """Uphold (voiding the events found wrong, which recolours) or reject an appeal."""
    notices: list[ColourNotice] = []
    with _translated(), unit_of_work(session):
        item = session.get(Appeal, appeal_id)
        if item is None:
            raise Problem(404, "not found")
        ensure_in_jurisdiction(session, principal, item.county_code, hide=True)
        outcome = appeals.decide_appeal(
            session,
            held.clock,
            services.policy,
            item,
            actor=principal.actor,
            upheld=body.upheld,
            decision=body.decision,
            void_event_ids=body.void_event_ids,
        )
        if outcome is not None:
            notices = outcome.notices
        result = _appeal_read(item, held.clock.now())
    services.notify(notices)
    return result


@router.post(
    "/region-risk",
    response_model=RegionRiskResult,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
    summary="A region's risk level changes (recolours its recent visitors)",
)
def region_risk(
    body: RegionRiskCreate,
    principal: Annotated[Principal, Depends(allow("code.region_risk"))],
    held: Annotated[Platform, Depends(platform)],
    services: Annotated[CodeServices, Depends(code_services)],
    session: Annotated[Session, Depends(db_session)],
) -> RegionRiskResult:
    """Everyone who declared a trip there within the window gets an event and a new colour."""
    with _translated(), unit_of_work(session):
        if session.get(Region, body.region_code) is None:
            raise Problem.invalid(
                "region_code", f"no region with code {body.region_code}", message="unknown region"
            )
        ensure_in_jurisdiction(session, principal, body.region_code)
        designation, affected, recoloured, notices = recolour.designate_region(
            session,
            held.clock,
            services.policy,
            actor=principal.actor,
            region_code=body.region_code,
            level=body.level,
            window_days=body.window_days,
            basis=body.basis,
        )
        result = RegionRiskResult(
            designation_id=designation.id,
            region_code=body.region_code,
            level=body.level,
            affected=affected,
            recoloured=recoloured,
        )
    services.notify(notices)
    return result


@router.get("/statistics", response_model=list[ColourCount], responses=PROBLEMS)
def statistics(
    principal: Annotated[Principal, Depends(allow("code.statistics"))],
    session: Annotated[Session, Depends(db_session)],
    region: Annotated[str, Query(pattern=r"^[A-Za-z0-9-]{1,32}$")] = "330000",
) -> list[ColourCount]:
    """Codes per colour for a region and each of its children (aggregates only)."""
    parent = session.get(Region, region)
    if parent is None:
        raise Problem.invalid(
            "region",
            f"no region with code {region}",
            where="query",
            status=404,
            message="unknown region",
        )
    ensure_in_jurisdiction(session, principal, region)
    children = session.scalars(
        select(Region).where(Region.parent_code == region).order_by(Region.code)
    ).all()
    per_county = colour_counts_by_county(session, parent.path)
    result = []
    for item in [parent, *children]:
        counts: dict[str, int] = {}
        for path, colours in per_county.items():
            if path.startswith(item.path):
                for colour, count in colours.items():
                    counts[colour] = counts.get(colour, 0) + count
        result.append(ColourCount(region_code=item.code, counts=counts, total=sum(counts.values())))
    return result


@router.get(
    "/quarantine",
    response_model=list[QuarantineRead],
    responses=PROBLEMS,
    summary="隔离人员 · Residents currently in quarantine",
)
def quarantine_list(
    principal: Annotated[Principal, Depends(allow("code.quarantine.read"))],
    held: Annotated[Platform, Depends(platform)],
    session: Annotated[Session, Depends(db_session)],
    region: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,32}$")] = None,
) -> list[QuarantineRead]:
    """Residents of a region (and below) whose latest quarantine start has no later end."""
    code = region or principal.region_code or "330000"
    area = session.get(Region, code)
    if area is None:
        raise Problem.invalid(
            "region",
            f"no region with code {code}",
            where="query",
            status=404,
            message="unknown region",
        )
    ensure_in_jurisdiction(session, principal, code)
    rows = session.execute(
        select(CodeEvent.id, CodeEvent.resident_id, CodeEvent.kind, CodeEvent.occurred_at)
        .join(Resident, Resident.id == CodeEvent.resident_id)
        .join(Region, Region.code == Resident.county_code)
        .where(
            CodeEvent.kind.in_(("quarantine_start", "quarantine_end")),
            Region.path.startswith(area.path, autoescape=True),
        )
    ).all()
    voided = _voided_events(session, {row.resident_id for row in rows})
    latest: dict[tuple[int, str], tuple[datetime, int]] = {}
    for row in rows:
        if row.id in voided:
            continue
        key = (row.resident_id, row.kind)
        if key not in latest or (row.occurred_at, row.id) > latest[key]:
            latest[key] = (row.occurred_at, row.id)
    since = {
        resident_id: started
        for (resident_id, kind), started in latest.items()
        if kind == "quarantine_start"
        and (
            (resident_id, "quarantine_end") not in latest
            or latest[(resident_id, "quarantine_end")] < started
        )
    }
    if not since:
        return []
    people = session.execute(
        select(Resident, HealthCode.colour)
        .outerjoin(HealthCode, HealthCode.resident_id == Resident.id)
        .where(Resident.id.in_(list(since)))
    ).all()
    now = held.clock.now()
    result = [
        QuarantineRead(
            resident_id=person.id,
            masked_name=person.name_masked,
            county_code=person.county_code,
            since=since[person.id][0],
            days=max(0, (now - since[person.id][0]).days),
            colour=colour,
        )
        for person, colour in people
    ]
    return sorted(result, key=lambda item: (item.since, item.resident_id))


def _voided_events(session: Session, resident_ids: set[int]) -> set[int]:
    """Ids of events voided by upheld appeals of these residents."""
    voided: set[int] = set()
    if not resident_ids:
        return voided
    for data in session.scalars(
        select(CodeEvent.data).where(
            CodeEvent.kind == "appeal_upheld", CodeEvent.resident_id.in_(list(resident_ids))
        )
    ):
        voided.update(int(i) for i in (data or {}).get("voids", []))
    return voided
