"""Code holders (一人绑定多人): which accounts hold which residents' codes."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from zhikong.code.models import (
    CodeHolder,
)


def holders_of(session: Session, user_id: int) -> list[CodeHolder]:
    """The codes an account holds (its own and its dependants')."""
    return list(
        session.scalars(
            select(CodeHolder)
            .where(CodeHolder.user_id == user_id, CodeHolder.revoked_at.is_(None))
            .order_by(CodeHolder.id)
        )
    )


def holds(session: Session, user_id: int, resident_id: int) -> bool:
    """Whether an account holds a resident's code."""
    return (
        session.scalar(
            select(CodeHolder.id).where(
                and_(
                    CodeHolder.user_id == user_id,
                    CodeHolder.resident_id == resident_id,
                    CodeHolder.revoked_at.is_(None),
                )
            )
        )
        is not None
    )
