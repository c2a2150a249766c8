"""Training needs analysis: workforce groups, what each must complete, who is in which group,
and the subgroup's reviews.

Nothing here stores whether anyone is in date: that is worked out from the registers every
time (see `tna.py`), so it can never go stale.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Sector, User
from ..catalogue.models import Course, Level
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class TnaStatus(enum.StrEnum):
    """Where one person stands against one requirement (and, worst first, overall)."""

    IN_DATE = "in-date"
    DUE_SOON = "due-soon"
    NEVER_TRAINED = "never-trained"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return {"in-date": "In date", "due-soon": "Due soon", "never-trained": "Never trained",
                "overdue": "Overdue"}[self.value]

    @property
    def severity(self) -> int:
        """A person counts once, under their worst requirement: higher is worse."""
        return SEVERITY[self]


SEVERITY = {TnaStatus.IN_DATE: 1, TnaStatus.DUE_SOON: 2, TnaStatus.NEVER_TRAINED: 3, TnaStatus.OVERDUE: 4}


class WorkforceGroupSector(db.Model):
    """A sector whose staff a workforce group covers."""

    __tablename__ = "workforce_group_sectors"

    group_id: Mapped[int] = mapped_column(ForeignKey("workforce_groups.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[Sector] = mapped_column(enum_type(Sector, 40), primary_key=True)


class WorkforceGroup(db.Model):
    """People who need the same training, e.g. "DSLs in schools" or "police officers"."""

    __tablename__ = "workforce_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # An inactive group is no longer offered to people choosing theirs; its members still count.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sector_rows: Mapped[list[WorkforceGroupSector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=WorkforceGroupSector.sector
    )
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="group", cascade="all, delete-orphan", lazy="selectin",
        order_by="Requirement.id",
    )

    def __repr__(self) -> str:
        return f"<WorkforceGroup {self.id}>"

    @property
    def sectors(self) -> list[Sector]:
        return [row.sector for row in self.sector_rows]

    @sectors.setter
    def sectors(self, values) -> None:
        wanted = {Sector(v) for v in values}
        self.sector_rows = [r for r in self.sector_rows if r.sector in wanted] + [
            WorkforceGroupSector(sector=s) for s in sorted(wanted - set(self.sectors))
        ]


class Requirement(db.Model):
    """What a workforce group must complete: one course, or any course at a level.

    The first completion is due `deadline_months` after the person started in the group;
    after that, every `refresher_months` (never again when it is NULL).
    """

    __tablename__ = "training_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("workforce_groups.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    level: Mapped[Level | None] = mapped_column(enum_type(Level, 20))
    deadline_months: Mapped[int]
    refresher_months: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    group: Mapped[WorkforceGroup] = relationship(back_populates="requirements")
    course: Mapped[Course | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(course_id IS NULL AND level IS NOT NULL) OR (course_id IS NOT NULL AND level IS NULL)",
                        name="course_or_level"),
        CheckConstraint("deadline_months >= 0", name="deadline_not_negative"),
        CheckConstraint("refresher_months IS NULL OR refresher_months > 0", name="requirement_refresher_positive"),
        # NULLs are distinct on both databases, so a level requirement never clashes on course_id.
        UniqueConstraint("group_id", "course_id", name="uq_training_requirements_group_id_course_id"),
        UniqueConstraint("group_id", "level", name="uq_training_requirements_group_id_level"),
    )

    def __repr__(self) -> str:
        return f"<Requirement {self.id}>"

    @property
    def label(self) -> str:
        """'Any Level 1 course' or the course's title."""
        if self.course is not None:
            return self.course.title
        return f"Any {self.level.label} course" if self.level else ""

    @property
    def deadline_label(self) -> str:
        if self.deadline_months == 0:
            return "Before starting"
        return f"Within {_months(self.deadline_months)} of starting"

    @property
    def refresher_label(self) -> str:
        return "Once only" if self.refresher_months is None else f"Every {_months(self.refresher_months)}"


def _months(n: int) -> str:
    if n % 12 == 0:
        years = n // 12
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{n} month{'s' if n != 1 else ''}"


class WorkforceMembership(db.Model):
    """A person's workforce group from the day they started in it.

    One current row per person (`ended_on` NULL). Changing group closes the current row and
    opens a new one, so the history of who was in which group, and when, is kept.
    """

    __tablename__ = "workforce_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("workforce_groups.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[WorkforceGroup] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        Index("uq_workforce_memberships_current", "user_id", unique=True,
              sqlite_where=db.text("ended_on IS NULL"), postgresql_where=db.text("ended_on IS NULL")),
        Index("ix_workforce_memberships_group_id_ended_on", "group_id", "ended_on"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
    )

    def __repr__(self) -> str:
        return f"<WorkforceMembership {self.id}>"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class TnaReview(db.Model):
    """A meeting of the subgroup that reviewed the TNA, with the figures as they stood.

    `snapshot` is JSON (see `tna.snapshot_json`): the counts per agency and group when the
    review was recorded, so a later review can show what changed.
    """

    __tablename__ = "tna_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text)
    emerging_issues: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The London date the figures were worked out for.
    figures_on: Mapped[date] = mapped_column(Date)
    snapshot: Mapped[str] = mapped_column(Text)

    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_tna_reviews_reviewed_on", "reviewed_on"),)

    def __repr__(self) -> str:
        return f"<TnaReview {self.id}>"
