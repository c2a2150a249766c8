"""Database plumbing: UTC round trips and the write transaction."""
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from tests.factories import SessionFactory
from training.accounts.models import Agency, Sector
from training.catalogue.models import CourseSession
from training.db import write_transaction
from training.extensions import db


def test_datetimes_come_back_aware_utc_whatever_zone_went_in():
    plus_two = timezone(timedelta(hours=2))
    session = SessionFactory(starts_at=datetime(2026, 7, 1, 11, 0, tzinfo=plus_two),
                             ends_at=datetime(2026, 7, 1, 14, 0, tzinfo=plus_two))
    session_id = session.id
    db.session.expire_all()
    stored = db.session.get(CourseSession, session_id)
    assert stored.starts_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert stored.starts_at.tzinfo is not None


def test_naive_datetimes_are_refused():
    with pytest.raises(Exception, match="naive datetime"):
        SessionFactory(starts_at=datetime(2026, 7, 1, 9, 0), ends_at=datetime(2026, 7, 1, 12, 0))
    db.session.rollback()


def test_write_transaction_commits_once_or_not_at_all():
    with pytest.raises(RuntimeError):
        with write_transaction():
            db.session.add(Agency(name="Rolled back", sector=Sector.HEALTH))
            db.session.flush()
            raise RuntimeError("boom")
    assert db.session.scalar(select(Agency).where(Agency.name == "Rolled back")) is None

    with write_transaction():
        db.session.add(Agency(name="Kept", sector=Sector.HEALTH))
    db.session.expire_all()
    assert db.session.scalar(select(Agency.name).where(Agency.name == "Kept")) == "Kept"


def test_booking_takes_the_write_lock_before_reading_capacity():
    """SQLite: the write transaction begins IMMEDIATE. PostgreSQL: the session row is locked
    FOR UPDATE. Either way the lock comes before the capacity is read."""
    from tests.factories import UserFactory
    from training.booking.services import book_place

    session_id = SessionFactory(capacity=1).id
    person = UserFactory()
    db.session.commit()
    person = db.session.get(type(person), person.id)  # loaded before we start listening
    _ = person.is_coordinator
    seen: list[str] = []

    def capture(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        book_place(session_id, person)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    if db.engine.dialect.name == "sqlite":
        begins = [s for s in seen if s.startswith("BEGIN")]
        assert begins[-1] == "BEGIN IMMEDIATE"
        first_read = seen.index(begins[-1]) + 1
    else:
        first_read = next(i for i, s in enumerate(seen) if "FROM course_sessions" in s)
        assert seen[first_read].endswith("FOR UPDATE OF course_sessions")
    assert "FROM course_sessions" in seen[first_read]


def test_plain_reads_do_not_take_the_sqlite_write_lock():
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite-only")
    seen: list[str] = []

    def capture(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.commit()
        db.session.scalar(select(Agency.id))
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert seen == ["BEGIN"]
