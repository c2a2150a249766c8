"""Yearly single-agency compliance returns: rounds, each agency's return, its figures per level
and its history.

The status of a return moves only through `AgencyReturn.move_to`:

    not started -> draft -> submitted -> challenged -> responded -> accepted
                              |                          |   ^
                              +--------> accepted        +---+  (a further challenge)
                                                  responded -> challenged

A coordinator may also reopen a submitted, challenged or responded return (back to draft)
so that its lead can correct the figures; it then has to be submitted again. An accepted
return is final.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, case, cast
from sqlalchemy import Float as SqlFloat
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..catalogue.models import Level
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db
from .errors import InvalidTransition

TEXT_MAX = 5000
NOTES_MAX = 500
#: The most staff a level can have in scope: far above any agency, far below an INTEGER's limit.
FIGURE_MAX = 1_000_000


class ReturnStatus(enum.StrEnum):
    NOT_STARTED = "not-started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHALLENGED = "challenged"
    RESPONDED = "responded"
    ACCEPTED = "accepted"

    @property
    def label(self) -> str:
        return {"not-started": "Not started", "draft": "Draft", "submitted": "Submitted",
                "challenged": "Challenged", "responded": "Responded", "accepted": "Accepted"}[self.value]

    @property
    def is_submitted(self) -> bool:
        """The agency has handed the return in: its figures are final and others may read them."""
        return self in SUBMITTED_STATUSES

    @property
    def is_editable(self) -> bool:
        return self in (ReturnStatus.NOT_STARTED, ReturnStatus.DRAFT)


SUBMITTED_STATUSES = frozenset({ReturnStatus.SUBMITTED, ReturnStatus.CHALLENGED, ReturnStatus.RESPONDED,
                                ReturnStatus.ACCEPTED})

TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.NOT_STARTED: frozenset({ReturnStatus.DRAFT}),
    ReturnStatus.DRAFT: frozenset({ReturnStatus.SUBMITTED}),
    ReturnStatus.SUBMITTED: frozenset({ReturnStatus.CHALLENGED, ReturnStatus.ACCEPTED, ReturnStatus.DRAFT}),
    ReturnStatus.CHALLENGED: frozenset({ReturnStatus.RESPONDED, ReturnStatus.DRAFT}),
    ReturnStatus.RESPONDED: frozenset({ReturnStatus.CHALLENGED, ReturnStatus.ACCEPTED, ReturnStatus.DRAFT}),
    ReturnStatus.ACCEPTED: frozenset(),
}


class EventKind(enum.StrEnum):
    OPENED = "opened"  # the return was created when its round opened (or the agency was added)
    SAVED = "saved"  # a draft save: `changes` holds the figures before and after
    SUBMITTED = "submitted"
    CHALLENGED = "challenged"
    RESPONDED = "responded"
    ACCEPTED = "accepted"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return {"opened": "Return opened", "saved": "Draft saved", "submitted": "Return submitted",
                "challenged": "Challenge from the Independent Scrutineer", "responded": "Response to the challenge",
                "accepted": "Return accepted", "reopened": "Return reopened for changes"}[self.value]


#: The order levels appear in on the proforma.
LEVELS: tuple[Level, ...] = tuple(Level)


class ReturnRound(db.Model):
    """One year's round of returns, for the financial year starting in April of `year`."""

    __tablename__ = "return_rounds"
    __table_args__ = (CheckConstraint("year BETWEEN 2000 AND 2999", name="year_plausible"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    due_on: Mapped[date] = mapped_column(Date)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    opened_by: Mapped[User | None] = relationship()
    returns: Mapped[list[AgencyReturn]] = relationship(back_populates="round", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<ReturnRound {self.year}>"

    @property
    def label(self) -> str:
        """The financial year as people say it: '2025 to 2026'."""
        return year_label(self.year)


def year_label(year: int) -> str:
    return f"{year} to {year + 1}"


class AgencyReturn(db.Model):
    """One agency's return for one round."""

    __tablename__ = "agency_returns"
    __table_args__ = (UniqueConstraint("round_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique (round_id, agency_id) constraint, whose first column it is.
    round_id: Mapped[int] = mapped_column(ForeignKey("return_rounds.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(enum_type(ReturnStatus, 20), default=ReturnStatus.NOT_STARTED)
    quality_and_impact: Mapped[str | None] = mapped_column(Text)
    gaps_and_plans: Mapped[str | None] = mapped_column(Text)
    # Bumped by every change, so a save made from a page someone else has since changed is refused
    # rather than silently overwriting their work.
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The date the latest challenge asked for a response by; kept after the response for the record.
    response_due_on: Mapped[date | None] = mapped_column(Date)

    round: Mapped[ReturnRound] = relationship(back_populates="returns", lazy="joined", innerjoin=True)
    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    lines: Mapped[list[ReturnLine]] = relationship(back_populates="agency_return", lazy="selectin",
                                                   cascade="all, delete-orphan", order_by="ReturnLine.position")
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    def __repr__(self) -> str:
        return f"<AgencyReturn {self.id} {self.status}>"

    def can_become(self, status: ReturnStatus) -> bool:
        return status in TRANSITIONS[self.status]

    def move_to(self, status: ReturnStatus, now: datetime) -> None:
        """The only way the status changes; anything not in TRANSITIONS is refused."""
        if not self.can_become(status):
            raise InvalidTransition(self.status, status)
        self.status = status
        self.updated_at = now
        self.version += 1

    def line_for(self, level: Level) -> ReturnLine | None:
        return next((line for line in self.lines if line.level == level), None)

    @property
    def totals(self) -> tuple[int, int]:
        """(trained and in date, staff in scope) over the levels with both figures."""
        rows = [line for line in self.lines if line.staff_in_scope is not None and line.trained_in_date is not None]
        return sum(line.trained_in_date for line in rows), sum(line.staff_in_scope for line in rows)


class ReturnLine(db.Model):
    """The figures for one training level. The compliance % is computed, never typed in.

    Blank figures are allowed while the return is a draft; submitting needs them all.
    """

    __tablename__ = "return_lines"
    __table_args__ = (
        UniqueConstraint("return_id", "level"),
        CheckConstraint("staff_in_scope IS NULL OR staff_in_scope >= 0", name="scope_not_negative"),
        CheckConstraint(
            "trained_in_date IS NULL OR (staff_in_scope IS NOT NULL AND trained_in_date >= 0 "
            "AND trained_in_date <= staff_in_scope)",
            name="trained_within_scope",
        ),
        CheckConstraint("courses_delivered IS NULL OR courses_delivered >= 0", name="courses_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique (return_id, level) constraint.
    return_id: Mapped[int] = mapped_column(ForeignKey("agency_returns.id", ondelete="CASCADE"))
    level: Mapped[Level] = mapped_column(enum_type(Level, 20))
    position: Mapped[int] = mapped_column(default=0)
    staff_in_scope: Mapped[int | None]
    trained_in_date: Mapped[int | None]
    courses_delivered: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(String(NOTES_MAX))

    agency_return: Mapped[AgencyReturn] = relationship(back_populates="lines")

    @hybrid_property
    def compliance(self) -> float | None:
        """Trained and in date as a percentage of staff in scope; None with nobody in scope."""
        if not self.staff_in_scope or self.trained_in_date is None:
            return None
        return 100 * self.trained_in_date / self.staff_in_scope

    @compliance.inplace.expression
    @classmethod
    def _compliance_expression(cls):
        return case(
            (cls.staff_in_scope > 0, 100 * cast(cls.trained_in_date, SqlFloat) / cls.staff_in_scope),
            else_=None,
        )

    def figures(self) -> dict:
        """What a draft save compares and records in the history."""
        return {"staff_in_scope": self.staff_in_scope, "trained_in_date": self.trained_in_date,
                "courses_delivered": self.courses_delivered, "notes": self.notes}


class ReturnEvent(db.Model):
    """One entry in a return's history. Never changed or deleted: a new entry each time."""

    __tablename__ = "return_events"
    __table_args__ = (Index("ix_return_events_return_id_occurred_at", "return_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("agency_returns.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind, 20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The challenge, the response or the reason for reopening.
    text: Mapped[str | None] = mapped_column(Text)
    response_due_on: Mapped[date | None] = mapped_column(Date)
    # For a draft save: {"lines": {"level-1": {"staff_in_scope": [before, after], ...}},
    #                    "quality_and_impact": [before, after], ...}, only what changed.
    changes: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReturnEvent {self.id} {self.kind}>"
