"""Scenes for the training needs analysis tests: groups, requirements, memberships and
completions on chosen London dates."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import factory

from tests.factories import AttendanceFactory, Base, BookingFactory, CourseFactory, SessionFactory
from training.accounts.models import Sector
from training.attendance.models import Attendance, AttendanceOutcome
from training.catalogue.models import Level, SessionStatus
from training.extensions import db
from training.needs.models import Requirement, WorkforceGroup, WorkforceMembership
from training.timeutil import london_to_utc


class WorkforceGroupFactory(Base):
    class Meta:
        model = WorkforceGroup

    name = factory.Sequence(lambda n: f"Workforce group {n}")
    description = "People who work with children"
    active = True

    @factory.post_generation
    def sectors(obj, create, extracted, **kwargs):
        obj.sectors = extracted if extracted is not None else [Sector.HEALTH]
        if create:
            db.session.commit()


class RequirementFactory(Base):
    """Any Level 1 course within 3 months of starting, every 3 years, unless told otherwise."""

    class Meta:
        model = Requirement

    group = factory.SubFactory(WorkforceGroupFactory)
    course = None
    level = Level.LEVEL_1
    deadline_months = 3
    refresher_months = 36


class MembershipFactory(Base):
    class Meta:
        model = WorkforceMembership

    user = None
    group = factory.SubFactory(WorkforceGroupFactory)
    started_on = date(2020, 1, 1)
    ended_on = None


def noon(day: date) -> datetime:
    """Midday in London on `day`: a `now` for the rules."""
    return london_to_utc(day, time(12, 0))


def completed(user, course, on: date, outcome: AttendanceOutcome = AttendanceOutcome.ATTENDED, *,
              at: time = time(9, 30), cancelled: bool = False, walk_in: bool = False) -> Attendance:
    """A session of `course` starting at `at` London time on `on`, with `user` on its register."""
    starts = london_to_utc(on, at)
    session = SessionFactory(course=course, starts_at=starts, ends_at=starts + timedelta(hours=3),
                             booking_closes_at=starts - timedelta(days=1),
                             status=SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED)
    if walk_in:
        return AttendanceFactory(booking=None, session=session, user=user, attendee_name=user.name,
                                 attendee_email=user.email, agency=user.agency, outcome=outcome, walk_in=True)
    return AttendanceFactory(booking=BookingFactory(session=session, user=user), outcome=outcome)


def level_course(level: Level = Level.LEVEL_1, **kwargs):
    return CourseFactory(level=level, **kwargs)
