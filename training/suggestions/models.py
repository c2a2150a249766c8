"""Course suggestions from partners, and every step the subgroup takes on them.

A suggestion runs submitted -> under review -> agreed or declined. Its status changes only
through the methods here, and each change adds a SuggestionEvent, so the history of who did
what and when is kept rather than overwritten.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..catalogue.models import Course
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db
from .errors import CourseAlreadyCreated, InvalidTransition, NotAgreed, ReasonRequired


class SuggestionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under-review"
    AGREED = "agreed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {"submitted": "Submitted", "under-review": "Under review", "agreed": "Agreed",
                "declined": "Declined"}[self.value]

    @property
    def is_open(self) -> bool:
        """Still waiting for the subgroup's decision."""
        return self in OPEN_STATUSES

    @property
    def is_decided(self) -> bool:
        return self in DECIDED_STATUSES


OPEN_STATUSES = (SuggestionStatus.SUBMITTED, SuggestionStatus.UNDER_REVIEW)
DECIDED_STATUSES = (SuggestionStatus.AGREED, SuggestionStatus.DECLINED)

TRANSITIONS = {
    SuggestionStatus.SUBMITTED: frozenset({SuggestionStatus.UNDER_REVIEW}),
    SuggestionStatus.UNDER_REVIEW: frozenset({SuggestionStatus.AGREED, SuggestionStatus.DECLINED}),
}


class SuggestionEvent(db.Model):
    """One step in a suggestion's life: who, when, from which status to which, and a note."""

    __tablename__ = "suggestion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(ForeignKey("course_suggestions.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None for the submission itself.
    from_status: Mapped[SuggestionStatus | None] = mapped_column(enum_type(SuggestionStatus, 20))
    to_status: Mapped[SuggestionStatus] = mapped_column(enum_type(SuggestionStatus, 20))
    note: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SuggestionEvent {self.id}>"


class CourseSuggestion(db.Model):
    """A partner's suggestion of a new course, and the subgroup's decision on it."""

    __tablename__ = "course_suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    need: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text)
    people_benefiting: Mapped[int]
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    suggested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[SuggestionStatus] = mapped_column(enum_type(SuggestionStatus, 20),
                                                     default=SuggestionStatus.SUBMITTED)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The draft course made from an agreed suggestion; a course comes from one suggestion at most.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()
    suggested_by: Mapped[User] = relationship(foreign_keys=[suggested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    course: Mapped[Course | None] = relationship()
    events: Mapped[list[SuggestionEvent]] = relationship(
        cascade="all, delete-orphan", order_by=(SuggestionEvent.at, SuggestionEvent.id),
    )

    __table_args__ = (
        CheckConstraint("people_benefiting > 0", name="people_benefiting_positive"),
        # A declined suggestion always says why: the suggester is shown the reason.
        CheckConstraint("status <> 'declined' OR decision_reason IS NOT NULL", name="declined_has_reason"),
        Index("ix_course_suggestions_status_created_at", "status", "created_at"),
    )

    def __repr__(self) -> str:
        return f"<CourseSuggestion {self.id}>"

    # -- the only ways the status changes ---------------------------------------------

    def record_submission(self, actor: User, now: datetime) -> None:
        """Record the submission as the first step of the history."""
        self.status = SuggestionStatus.SUBMITTED
        self.created_at = now
        self._record(actor, now, None, SuggestionStatus.SUBMITTED, None)

    def start_review(self, actor: User, now: datetime) -> None:
        """The subgroup starts exploring the suggestion."""
        self._move(SuggestionStatus.UNDER_REVIEW, actor, now, None)

    def agree(self, actor: User, now: datetime, reason: str | None = None) -> None:
        """The subgroup agrees; a reason is optional but shown to the suggester when given."""
        self._move(SuggestionStatus.AGREED, actor, now, reason or None)

    def decline(self, actor: User, now: datetime, reason: str) -> None:
        """The subgroup declines, always with a reason the suggester can see."""
        if not (reason or "").strip():
            raise ReasonRequired()
        self._move(SuggestionStatus.DECLINED, actor, now, reason)

    def link_course(self, course: Course, actor: User, now: datetime) -> None:
        """Keep the link to the draft course made from this (agreed) suggestion."""
        if self.status != SuggestionStatus.AGREED:
            raise NotAgreed()
        if self.course_id is not None:
            raise CourseAlreadyCreated()
        self.course = course
        self._record(actor, now, self.status, self.status, f"Draft course created: {course.title}")

    def _move(self, to: SuggestionStatus, actor: User, now: datetime, reason: str | None) -> None:
        if to not in TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransition(self._refusal(to))
        before = self.status
        self.status = to
        if to in DECIDED_STATUSES:
            self.decision_reason = reason
            self.decided_by_id = actor.id
            self.decided_at = now
        self._record(actor, now, before, to, reason)

    def _refusal(self, to: SuggestionStatus) -> str:
        if self.status in DECIDED_STATUSES:
            return f"This suggestion has already been {self.status.label.lower()}"
        if to == SuggestionStatus.UNDER_REVIEW:
            return "This suggestion is already under review"
        return "Start the review before you agree or decline the suggestion"

    def _record(self, actor: User, now: datetime, before: SuggestionStatus | None, after: SuggestionStatus,
                note: str | None) -> None:
        self.events.append(SuggestionEvent(actor_id=actor.id, at=now, from_status=before, to_status=after,
                                           note=note))
