"""Courses and their dated sessions."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db
from .errors import SessionAlreadyCancelled


class CourseFormat(enum.StrEnum):
    FACE_TO_FACE = "face-to-face"
    VIRTUAL = "virtual"
    E_LEARNING = "e-learning"
    WORKSHOP = "workshop"

    @property
    def label(self) -> str:
        return {"face-to-face": "Face to face", "virtual": "Virtual (online)",
                "e-learning": "E-learning", "workshop": "Workshop"}[self.value]


class Level(enum.StrEnum):
    LEVEL_1 = "level-1"
    LEVEL_2 = "level-2"
    LEVEL_3 = "level-3"
    DSL = "dsl"
    SPECIALIST = "specialist"

    @property
    def label(self) -> str:
        return {"level-1": "Level 1", "level-2": "Level 2", "level-3": "Level 3",
                "dsl": "Designated safeguarding lead (DSL)", "specialist": "Specialist"}[self.value]


class Theme(enum.StrEnum):
    CHILD_PROTECTION = "child-protection"
    VULNERABLE_ADOLESCENTS = "vulnerable-adolescents"
    YOUTH_VIOLENCE = "youth-violence"
    DOMESTIC_ABUSE = "domestic-abuse"
    NEGLECT = "neglect"
    CHILD_SEXUAL_ABUSE = "child-sexual-abuse"
    EXPLOITATION = "exploitation"
    ONLINE_SAFETY = "online-safety"
    PREVENT = "prevent"
    MENTAL_HEALTH = "mental-health"
    SUBSTANCE_MISUSE = "substance-misuse"
    FGM = "fgm"
    SAFER_RECRUITMENT = "safer-recruitment"
    EARLY_HELP = "early-help"
    SUPERVISION = "supervision"
    FAITH_AND_BELIEF = "faith-and-belief"

    @property
    def label(self) -> str:
        return _THEME_LABELS[self]


_THEME_LABELS = {
    Theme.CHILD_PROTECTION: "Child protection",
    Theme.VULNERABLE_ADOLESCENTS: "Vulnerable adolescents",
    Theme.YOUTH_VIOLENCE: "Youth violence",
    Theme.DOMESTIC_ABUSE: "Domestic violence and abuse",
    Theme.NEGLECT: "Neglect",
    Theme.CHILD_SEXUAL_ABUSE: "Child sexual abuse",
    Theme.EXPLOITATION: "Exploitation (CCE and CSE)",
    Theme.ONLINE_SAFETY: "Online safety",
    Theme.PREVENT: "Prevent and radicalisation",
    Theme.MENTAL_HEALTH: "Mental health and self-harm",
    Theme.SUBSTANCE_MISUSE: "Substance misuse",
    Theme.FGM: "Female genital mutilation (FGM)",
    Theme.SAFER_RECRUITMENT: "Safer recruitment",
    Theme.EARLY_HELP: "Early Help",
    Theme.SUPERVISION: "Safeguarding supervision",
    Theme.FAITH_AND_BELIEF: "Abuse linked to faith or belief",
}


class SessionKind(enum.StrEnum):
    """Annual reports count training sessions and workshops separately."""

    TRAINING = "training"
    WORKSHOP = "workshop"

    @property
    def label(self) -> str:
        return {"training": "Training session", "workshop": "Workshop"}[self.value]


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class CourseTheme(db.Model):
    """A priority theme a course addresses."""

    __tablename__ = "course_themes"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[Theme] = mapped_column(enum_type(Theme, 40), primary_key=True)


class Course(db.Model):
    """A course in the catalogue; sessions are its dated instances."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    learning_outcomes: Mapped[str] = mapped_column(Text)
    level: Mapped[Level] = mapped_column(enum_type(Level, 20))
    duration_minutes: Mapped[int]
    format: Mapped[CourseFormat] = mapped_column(enum_type(CourseFormat, 20))
    refresher_months: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Bookings need the line manager's approval (also required everywhere by MANAGER_APPROVAL).
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    theme_rows: Mapped[list[CourseTheme]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=CourseTheme.theme
    )

    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("refresher_months IS NULL OR refresher_months > 0", name="refresher_positive"),
    )

    def __repr__(self) -> str:
        return f"<Course {self.id}>"

    @property
    def themes(self) -> list[Theme]:
        return [row.theme for row in self.theme_rows]

    @themes.setter
    def themes(self, values) -> None:
        wanted = {Theme(v) for v in values}
        self.theme_rows = [r for r in self.theme_rows if r.theme in wanted] + [
            CourseTheme(theme=t) for t in sorted(wanted - set(self.themes))
        ]

    @property
    def outcomes(self) -> list[str]:
        return [line.strip() for line in self.learning_outcomes.splitlines() if line.strip()]

    @property
    def duration_label(self) -> str:
        hours, minutes = divmod(self.duration_minutes, 60)
        parts = []
        if hours:
            parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        if minutes:
            parts.append(f"{minutes} minutes")
        return " ".join(parts)


session_trainers = Table(
    "session_trainers",
    db.metadata,
    Column("session_id", ForeignKey("course_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class CourseSession(db.Model):
    """A dated instance of a course with a capacity."""

    __tablename__ = "course_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(Text)
    online_link: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int]
    # Places held by confirmed bookings and open offers. Maintained only by the booking
    # services, under this row's lock, so the catalogue can show places left without
    # counting bookings.
    places_taken: Mapped[int] = mapped_column(default=0)
    booking_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[SessionStatus] = mapped_column(enum_type(SessionStatus, 20), default=SessionStatus.SCHEDULED)
    kind: Mapped[SessionKind] = mapped_column(
        enum_type(SessionKind, 20), default=SessionKind.TRAINING, server_default=SessionKind.TRAINING.value
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship(lazy="joined", innerjoin=True)
    trainers: Mapped[list[User]] = relationship(secondary=session_trainers, lazy="selectin", order_by=User.name)

    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("places_taken >= 0", name="places_taken_not_negative"),
        Index("ix_course_sessions_status_starts_at", "status", "starts_at"),
    )

    def __repr__(self) -> str:
        return f"<CourseSession {self.id}>"

    @hybrid_property
    def places_left(self) -> int:
        return self.capacity - self.places_taken

    @places_left.inplace.expression
    @classmethod
    def _places_left(cls):
        return cls.capacity - cls.places_taken

    @hybrid_property
    def is_full(self) -> bool:
        return self.places_taken >= self.capacity

    @is_full.inplace.expression
    @classmethod
    def _is_full(cls):
        return cls.places_taken >= cls.capacity

    @property
    def is_virtual(self) -> bool:
        return bool(self.online_link)

    # The same expression serves Python and SQL: the evaluation forms' rules use these in a
    # query and on one booking alike.
    @hybrid_property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    @hybrid_method
    def has_started(self, now: datetime) -> bool:
        # The column on the left, so a bound `now` takes the column's type in SQL.
        return self.starts_at <= now

    @hybrid_method
    def has_ended(self, at: datetime) -> bool:
        return self.ends_at <= at

    def booking_closed(self, now: datetime) -> bool:
        """People can no longer book themselves on (coordinators still can, before it starts)."""
        return now >= self.booking_closes_at

    @property
    def venue_lines(self) -> list[str]:
        return [line.strip() for line in (self.venue or "").splitlines() if line.strip()]

    def is_trainer(self, user: User) -> bool:
        return any(t.id == user.id for t in self.trainers)

    def cancel(self, now: datetime, reason: str) -> None:
        """Mark the session cancelled; bookings are released by the booking area."""
        if self.is_cancelled:
            raise SessionAlreadyCancelled()
        self.status = SessionStatus.CANCELLED
        self.cancelled_at = now
        self.cancellation_reason = reason
