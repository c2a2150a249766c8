"""Attendance registers: who came to each session, kept per agency."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..booking.models import Booking
from ..catalogue.models import CourseSession
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class AttendanceOutcome(enum.StrEnum):
    ATTENDED = "attended"
    PARTIAL = "partial"
    DID_NOT_ATTEND = "did-not-attend"

    @property
    def label(self) -> str:
        return {"attended": "Attended", "partial": "Partially attended",
                "did-not-attend": "Did not attend"}[self.value]

    @property
    def was_present(self) -> bool:
        return self is not AttendanceOutcome.DID_NOT_ATTEND


#: Outcomes that count as having been there: for certificates, evaluations, reminders and the summary.
PRESENT_OUTCOMES = frozenset(o for o in AttendanceOutcome if o.was_present)


def _present_values() -> list[str]:
    return sorted(o.value for o in PRESENT_OUTCOMES)


class Attendance(db.Model):
    """One person's attendance at one session, booked or walk-in."""

    __tablename__ = "attendances"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Name and agency are kept on the record, as on a paper register, so walk-ins without
    # an account count too and counts by agency stay right if a person later moves agency.
    attendee_name: Mapped[str] = mapped_column(String(200))
    attendee_email: Mapped[str | None] = mapped_column(String(254))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    outcome: Mapped[AttendanceOutcome] = mapped_column(enum_type(AttendanceOutcome, 20))
    walk_in: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[CourseSession] = relationship()
    booking: Mapped[Booking | None] = relationship()
    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        # Covers the summary's counts by agency and distinct people without visiting the table.
        Index("ix_attendances_session_id_outcome_people", "session_id", "outcome", "agency_id", "user_id", "booking_id"),
        # A person is on a session's register once, booked or walk-in. NULLs are distinct on
        # both databases, so walk-ins without an account are not limited.
        UniqueConstraint("session_id", "user_id", name="uq_attendances_session_id_user_id"),
    )

    def __repr__(self) -> str:
        return f"<Attendance {self.id} {self.outcome}>"

    @hybrid_property
    def was_present(self) -> bool:
        return self.outcome.was_present

    @was_present.inplace.expression
    @classmethod
    def _was_present(cls):
        return cls.outcome.in_(_present_values())


class Register(db.Model):
    """The state of a session's register: open until the trainer completes it."""

    __tablename__ = "registers"

    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"), primary_key=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    completed_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None
