"""The benchmark's dataset builder: a small build has the issue's proportions and consistent data."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bench import dataset
from training.accounts.models import Agency, User
from training.attendance.models import Attendance
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseSession
from training.db import utcnow
from training.evaluation.models import Answer, Evaluation, Stage
from training.extensions import db

SCALE = 0.01


def _count(column) -> int:
    return db.session.scalar(select(func.count(column)))


def test_sizes_are_the_issues_scaled():
    full, small = dataset.Sizes.issue(), dataset.Sizes.issue(SCALE)
    assert full == dataset.Sizes(agencies=200, people=50_000, courses=150, sessions=6_000, bookings=150_000,
                                 evaluations=90_000)
    assert (small.people, small.sessions, small.bookings, small.evaluations) == (500, 60, 1_500, 900)


def test_a_small_build_has_the_asked_counts_and_proportions():
    sizes = dataset.Sizes.issue(SCALE)
    ids = dataset.build(sizes, analyze=False)
    now = utcnow()

    assert _count(Agency.id) == sizes.agencies
    assert _count(User.id) == sizes.people
    assert _count(Course.id) == sizes.courses
    assert _count(CourseSession.id) == sizes.sessions
    assert _count(Booking.id) == sizes.bookings == ids["bookings"]
    assert _count(Evaluation.id) == sizes.evaluations == ids["evaluations"]
    assert _count(Answer.id) == ids["answers"] > 3 * sizes.evaluations
    # Half after-course forms, three in ten before, the rest follow-ups.
    stages = dict(db.session.execute(select(Evaluation.stage, func.count()).group_by(Evaluation.stage)).all())
    assert stages == {Stage.AFTER: 450, Stage.BEFORE: 270, Stage.FOLLOW_UP: 180}

    # Ten years, most of it past; some sessions upcoming and still open for booking.
    starts = db.session.scalars(select(CourseSession.starts_at)).all()
    past = [s for s in starts if s < now]
    assert min(starts) < now - timedelta(days=365 * 9)
    assert 0.9 <= len(past) / len(starts) < 1
    assert ids["upcoming_session_ids"]
    assert ids["session_id"] in ids["upcoming_session_ids"]

    # Nobody over capacity; places_taken agrees with the bookings; waiting only when full.
    for session in db.session.scalars(select(CourseSession)).all():
        holding = _count_where(session.id, BookingStatus.CONFIRMED)
        assert holding <= session.capacity
        if session.starts_at > now:
            assert session.places_taken == holding
            if _count_where(session.id, BookingStatus.WAITLISTED):
                assert holding == session.capacity
    # Attendance only for past confirmed places; every evaluation belongs to a past booking.
    assert _count(Attendance.id) == ids["attendances"] > 0
    future_evaluations = db.session.scalar(
        select(func.count(Evaluation.id)).join(CourseSession, Evaluation.session_id == CourseSession.id)
        .where(CourseSession.starts_at > now))
    assert future_evaluations == 0
    # The register page's session has 30 confirmed places; the heavy user really is heavy.
    assert _count_where(ids["past_session_id"], BookingStatus.CONFIRMED) + _count_where(
        ids["past_session_id"], BookingStatus.CANCELLED) == 30
    assert ids["heavy_user_bookings"] > 3 * sizes.bookings / sizes.people
    spare = db.session.scalar(select(func.count(Booking.id)).where(Booking.user_id.in_(ids["spare_people"])))
    assert spare == 0


def _count_where(session_id: int, status: BookingStatus) -> int:
    return db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == session_id,
                                                                   Booking.status == status))
