"""London-model evaluation: versioned question sets, each delegate's three forms and their
answers, and the subgroup's quality reviews."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..booking.models import Booking
from ..catalogue.models import Course, CourseSession
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class Stage(enum.StrEnum):
    BEFORE = "before"  # baseline, opened at booking
    AFTER = "after"  # straight after, opened once marked attended
    FOLLOW_UP = "follow-up"  # 6-8 weeks later, with the line manager

    @property
    def label(self) -> str:
        return {"before": "Before the course", "after": "After the course",
                "follow-up": "Follow-up with your line manager"}[self.value]


class QuestionKind(enum.StrEnum):
    RATING = "rating"  # 1-5, labelled ends
    OVERALL = "overall"  # excellent / good / satisfactory / poor
    OUTCOMES = "outcomes"  # one answer per course learning outcome: met / partly / not met
    YES_NO = "yes-no"
    TEXT = "text"


class OverallRating(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    SATISFACTORY = "satisfactory"
    POOR = "poor"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OutcomeMet(enum.StrEnum):
    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not-met"


class EvaluationStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class QuestionSet(db.Model):
    """One version of the questions for a stage. Answers point at the version they answered,
    so changing the questions never changes what past answers mean."""

    __tablename__ = "question_sets"
    __table_args__ = (UniqueConstraint("stage", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[Stage] = mapped_column(enum_type(Stage, 20))
    version: Mapped[int]
    introduced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))

    questions: Mapped[list[Question]] = relationship(
        back_populates="question_set", order_by="Question.position", lazy="selectin",
        cascade="all, delete-orphan",
    )


class Question(db.Model):
    """A question in one version of a question set. `key` is stable across versions
    (e.g. 'knowledge', 'confidence', 'overall'), so results can be compared year on year."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("question_set_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_set_id: Mapped[int] = mapped_column(ForeignKey("question_sets.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[QuestionKind] = mapped_column(enum_type(QuestionKind, 20))
    text: Mapped[str] = mapped_column(String(500))
    hint: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int]
    required: Mapped[bool] = mapped_column(default=True)
    low_label: Mapped[str | None] = mapped_column(String(100))  # for ratings: what 1 means
    high_label: Mapped[str | None] = mapped_column(String(100))  # and what 5 means

    question_set: Mapped[QuestionSet] = relationship(back_populates="questions")


class Evaluation(db.Model):
    """One delegate's form for one stage of one booking: saved as a draft, then submitted
    and locked."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("booking_id", "stage"),
        Index("ix_evaluations_session_id_stage_status", "session_id", "stage", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    # Denormalised from the booking so results per session and course are one GROUP BY.
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"))
    stage: Mapped[Stage] = mapped_column(enum_type(Stage, 20))
    question_set_id: Mapped[int] = mapped_column(ForeignKey("question_sets.id"))
    status: Mapped[EvaluationStatus] = mapped_column(enum_type(EvaluationStatus, 20), default=EvaluationStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
    session: Mapped[CourseSession] = relationship()
    question_set: Mapped[QuestionSet] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", lazy="selectin",
        order_by="(Answer.question_id, Answer.outcome_index)",
    )

    @property
    def is_locked(self) -> bool:
        return self.status == EvaluationStatus.SUBMITTED

    def submit(self, now: datetime) -> None:
        """Lock the form; a submitted form never changes again."""
        from .errors import EvaluationLocked

        if self.is_locked:
            raise EvaluationLocked()
        self.status = EvaluationStatus.SUBMITTED
        self.submitted_at = now
        self.updated_at = now


class Answer(db.Model):
    """One answer. Ratings use `rating` (1-5); overall, yes/no and outcome answers use
    `choice`; free text uses `text`. An outcomes question has one row per learning outcome,
    with the outcome's wording kept as it was when answered."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "question_id", "outcome_index"),
        # Covers the report's rating and learning-shift queries without visiting the table.
        Index("ix_answers_evaluation_id_question_id_values", "evaluation_id", "question_id", "rating", "choice"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        Index("ix_answers_question_id_choice", "question_id", "choice"),
        # Only the few comments marked quotable: the summary finds them here, not by reading
        # every comment of the period's forms. Queries must say `quotable = true` to use it.
        Index("ix_answers_quotable_question_id", "question_id",
              sqlite_where=db.text("quotable = 1"), postgresql_where=db.text("quotable")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique constraint and the covering index both start with it.
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    # 0 for ordinary questions; 1..n for each learning outcome of an outcomes question.
    outcome_index: Mapped[int] = mapped_column(default=0)
    outcome_text: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None]
    choice: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    # A coordinator may mark a comment as suitable for quoting (without a name) in reports.
    quotable: Mapped[bool] = mapped_column(default=False)

    evaluation: Mapped[Evaluation] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship(lazy="joined", innerjoin=True)


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    ACTIONS_AGREED = "actions-agreed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"open": "Open", "actions-agreed": "Actions agreed", "closed": "Closed"}[self.value]


REVIEW_TRANSITIONS = {
    ReviewStatus.OPEN: frozenset({ReviewStatus.ACTIONS_AGREED}),
    ReviewStatus.ACTIONS_AGREED: frozenset({ReviewStatus.CLOSED}),
}


class QualityReview(db.Model):
    """The subgroup's review of a poorly rated course or session, and the trainer's response."""

    __tablename__ = "quality_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("course_sessions.id"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_type(ReviewStatus, 20), default=ReviewStatus.OPEN)
    automatic: Mapped[bool] = mapped_column(default=False)  # flagged by the threshold, not by hand
    reason: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    findings: Mapped[str | None] = mapped_column(Text)
    improvements: Mapped[str | None] = mapped_column(Text)
    actions_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trainer_response: Mapped[str | None] = mapped_column(Text)
    trainer_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trainer_responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship()
    session: Mapped[CourseSession | None] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])

    def move_to(self, status: ReviewStatus, now: datetime) -> None:
        """The only way a review's status changes: open -> actions agreed -> closed."""
        from .errors import InvalidReviewTransition

        if status not in REVIEW_TRANSITIONS.get(self.status, frozenset()):
            raise InvalidReviewTransition()
        self.status = status
        if status == ReviewStatus.ACTIONS_AGREED:
            self.actions_agreed_at = now
        elif status == ReviewStatus.CLOSED:
            self.closed_at = now
