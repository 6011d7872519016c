"""Request dependencies of the code domain: the colour policy and notifier in force, and the
resident whose code the caller may act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from zhikong.api.problems import Problem
from zhikong.auth.policy import Principal, ensure_in_jurisdiction
from zhikong.code.holders import holds
from zhikong.code.notify import ColourNotice, Notifier
from zhikong.code.policy import ColourPolicy
from zhikong.residents.models import Resident


@dataclass(frozen=True)
class CodeServices:
    """What the code domain needs from the running app: the colour policy and the notifier."""

    policy: ColourPolicy
    notifier: Notifier

    def notify(self, notices: Sequence[ColourNotice]) -> None:
        """Send colour-change notices (after the transaction that made them has committed)."""
        if notices:
            self.notifier.notify(notices)


def install_code_services(app: FastAPI, services: CodeServices) -> None:
    """Give the app the colour policy and notifier its code endpoints use."""
    app.state.code_services = services


def code_services(request: Request) -> CodeServices:
    """The colour policy and notifier of the running app."""
    services: CodeServices = request.app.state.code_services
    return services


def resident_for(session: Session, principal: Principal, resident_id: int) -> Resident:
    """The resident, if the caller holds their code (resident) or it is in their jurisdiction."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise Problem(404, "not found")
    if principal.role == "resident":
        if principal.kind != "user" or not holds(session, principal.id, resident_id):
            raise Problem(404, "not found")
        return resident
    ensure_in_jurisdiction(session, principal, resident.county_code, hide=True)
    return resident
