"""Attendance counted by agency and by course, in SQL, for a date range of session starts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    AgencyFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.attendance import services
from training.attendance.models import AttendanceOutcome as A
from training.extensions import db

START = datetime(2025, 4, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)


def counts(rows) -> dict[str, tuple]:
    return {r.name: (r.attended, r.partial, r.did_not_attend, r.walk_ins, r.sessions) for r in rows}


@pytest.fixture
def scene():
    """Two agencies, two courses, three sessions in range and one outside it."""
    coordinator = CoordinatorFactory()
    health, police = AgencyFactory(name="Health"), AgencyFactory(name="Police")
    course_x, course_y = CourseFactory(title="Course X"), CourseFactory(title="Course Y")
    s1 = SessionFactory(course=course_x, starts_at=datetime(2025, 4, 10, 9, tzinfo=UTC))
    s2 = SessionFactory(course=course_x, starts_at=datetime(2025, 5, 10, 9, tzinfo=UTC))
    s3 = SessionFactory(course=course_y, starts_at=datetime(2025, 6, 10, 9, tzinfo=UTC))
    outside = SessionFactory(course=course_y, starts_at=END)  # the end is exclusive
    before = SessionFactory(course=course_x, starts_at=START - timedelta(seconds=1))

    mover = UserFactory(agency=health)
    h1, p1 = UserFactory(agency=health), UserFactory(agency=police)

    def mark(session, person, outcome):
        booking = BookingFactory(session=session, user=person)
        services.record_attendance(session.id, {booking.id: outcome}, coordinator)

    mark(s1, mover, A.ATTENDED)
    mark(s1, h1, A.DID_NOT_ATTEND)
    mark(s1, p1, A.PARTIAL)
    services.add_walk_in(s1.id, name="Walk In", email=None, agency_id=police.id, outcome=A.ATTENDED,
                         actor=coordinator)
    # The mover changes agency: their earlier attendance stays with Health.
    mover.agency = police
    db.session.commit()
    mark(s2, mover, A.ATTENDED)
    mark(s3, h1, A.PARTIAL)
    mark(outside, h1, A.ATTENDED)
    mark(before, p1, A.ATTENDED)
    return {"health": health, "police": police}


def test_attendance_by_agency_counts_each_outcome_across_agencies(scene):
    rows = services.attendance_by_agency(START, END)
    assert counts(rows) == {
        #          attended partial dna walk-ins sessions
        "Health": (1, 1, 1, 0, 2),
        "Police": (2, 1, 0, 1, 2),
    }
    assert [r.name for r in rows] == ["Health", "Police"]
    health = rows[0]
    assert health.id == scene["health"].id
    assert (health.present, health.total) == (2, 3)


def test_a_person_who_changed_agency_keeps_the_old_agency_on_past_attendance(scene):
    rows = counts(services.attendance_by_agency(START, datetime(2025, 5, 1, tzinfo=UTC)))
    # Only session 1: the mover attended while at Health.
    assert rows == {"Health": (1, 0, 1, 0, 1), "Police": (1, 1, 0, 1, 1)}


def test_attendance_by_course(scene):
    rows = services.attendance_by_course(START, END)
    assert counts(rows) == {
        "Course X": (3, 1, 1, 1, 2),
        "Course Y": (0, 1, 0, 0, 1),
    }


def test_the_range_is_on_session_start_inclusive_of_start_exclusive_of_end(scene):
    assert counts(services.attendance_by_course(END, END + timedelta(days=1))) == {"Course Y": (1, 0, 0, 0, 1)}
    assert counts(services.attendance_by_agency(START - timedelta(seconds=1), START)) == {
        "Police": (1, 0, 0, 0, 1)}
    assert services.attendance_by_agency(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC)) == []


@pytest.mark.parametrize("query", [services.attendance_by_agency, services.attendance_by_course])
def test_counts_are_one_grouped_query(scene, query):
    with recorded_statements() as statements:
        query(START, END)
    assert len(statements.queries) == 1
    assert "GROUP BY" in statements.queries[0]
