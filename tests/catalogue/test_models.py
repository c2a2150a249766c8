"""The session hybrids the evaluation forms' rules are built from: one expression each, read
in Python on a loaded session and in SQL by the My training query, so both must agree."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select

from tests.factories import SessionFactory
from training.catalogue.models import CourseSession, SessionStatus
from training.extensions import db

ONE_MICROSECOND = timedelta(microseconds=1)
# A session starting just after the clocks change (01:00 UTC both nights): stored in UTC,
# its moment must compare exactly, whatever the wall clock in London said.
CLOCK_CHANGES = [datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]


def _in_sql(expression, **params) -> bool:
    return bool(db.session.scalar(select(expression).params(**params)))


@pytest.mark.parametrize("starts_at", CLOCK_CHANGES, ids=["clocks-forward", "clocks-back"])
@pytest.mark.parametrize("offset, started", [(-ONE_MICROSECOND, False), (timedelta(0), True), (ONE_MICROSECOND, True)],
                         ids=["just-before", "at-the-start", "just-after"])
def test_has_started_is_the_same_rule_in_python_and_sql(starts_at, offset, started):
    session = SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=3),
                             booking_closes_at=starts_at - timedelta(days=1))
    now = starts_at + offset
    assert session.has_started(now) is started
    assert _in_sql(select(CourseSession.has_started(bindparam("now")))
                   .where(CourseSession.id == session.id).scalar_subquery(), now=now) is started


@pytest.mark.parametrize("ends_at", CLOCK_CHANGES, ids=["clocks-forward", "clocks-back"])
@pytest.mark.parametrize("offset, ended", [(-ONE_MICROSECOND, False), (timedelta(0), True)],
                         ids=["just-before", "at-the-end"])
def test_has_ended_is_the_same_rule_in_python_and_sql(ends_at, offset, ended):
    session = SessionFactory(starts_at=ends_at - timedelta(hours=3), ends_at=ends_at,
                             booking_closes_at=ends_at - timedelta(days=1))
    at = ends_at + offset
    assert session.has_ended(at) is ended
    assert _in_sql(select(CourseSession.has_ended(bindparam("at")))
                   .where(CourseSession.id == session.id).scalar_subquery(), at=at) is ended


@pytest.mark.parametrize("status", list(SessionStatus))
def test_is_cancelled_is_the_same_rule_in_python_and_sql(status):
    session = SessionFactory(status=status)
    assert session.is_cancelled is (status == SessionStatus.CANCELLED)
    found = db.session.scalars(select(CourseSession.id).where(CourseSession.is_cancelled)).all()
    assert (session.id in found) is (status == SessionStatus.CANCELLED)
