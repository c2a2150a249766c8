"""A booking interrupted part-way leaves nothing half-written: an exception inside the booking
transaction, a signal receiver failing inside a session's cancellation, and a worker process
that dies (os._exit, SIGKILL) after its INSERT reached the database but before the commit."""
from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3

import pytest
from sqlalchemy import select, text

from tests.factories import BookingFactory, CoordinatorFactory, SessionFactory, UserFactory
from tests.resilience.helpers import booking_state
from training.accounts.models import User
from training.booking import services as booking_services
from training.booking.models import Booking, BookingStatus
from training.catalogue import signals
from training.catalogue.models import CourseSession, SessionStatus
from training.catalogue.services import cancel_session
from training.extensions import db


class Crash(Exception):
    """Stands in for anything that fails mid-transaction."""


def _session_with_two_bookings() -> int:
    session = SessionFactory(capacity=5)
    BookingFactory.create_batch(2, session=session)
    db.session.commit()
    return session.id


def test_an_exception_after_the_insert_leaves_no_booking(monkeypatch):
    session_id = _session_with_two_bookings()
    person = UserFactory()
    flushed: list[int] = []
    counted: list[int] = []

    real_audit = booking_services.audit.booking_made

    def crash_after_flush(by, booking, now) -> None:
        real_audit(by, booking, now)  # the last step of the booking before its commit
        db.session.flush()  # the booking's INSERT and the places_taken UPDATE go to the database...
        flushed.extend(db.session.scalars(select(Booking.id).where(Booking.user_id == person.id)))
        counted.append(db.session.scalar(select(CourseSession.places_taken).where(CourseSession.id == session_id)))
        raise Crash("...and then the worker fails before the commit")

    monkeypatch.setattr(booking_services.audit, "booking_made", crash_after_flush)
    with pytest.raises(Crash):
        booking_services.book_place(session_id, person)

    assert len(flushed) == 1 and counted == [3]  # both writes really were made inside the transaction
    assert booking_state(session_id) == (2, 2)
    assert db.session.scalar(select(Booking).where(Booking.user_id == person.id)) is None


def test_a_failing_receiver_undoes_a_session_cancellation_and_its_bookings():
    session_id = _session_with_two_bookings()
    coordinator = CoordinatorFactory()
    seen: list[set[BookingStatus]] = []

    def fail(session: CourseSession, now) -> None:
        db.session.flush()
        seen.append(set(db.session.scalars(select(Booking.status).where(Booking.session_id == session.id))))
        raise Crash("a later receiver fails")

    signals.session_cancelled.connect(fail)  # after the booking area's receiver
    try:
        with pytest.raises(Crash):
            cancel_session(session_id, coordinator, "Trainer unwell")
    finally:
        signals.session_cancelled.disconnect(fail)

    assert seen and BookingStatus.CONFIRMED not in seen[0]  # the bookings had been released in-transaction
    db.session.commit()
    assert db.session.scalar(select(CourseSession.status).where(CourseSession.id == session_id)) \
        == SessionStatus.SCHEDULED
    statuses = db.session.scalars(select(Booking.status).where(Booking.session_id == session_id)).all()
    assert statuses == [BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    assert booking_state(session_id) == (2, 2)


def _die_inside_booking(url: str, session_id: int, user_id: int, how: str, inside) -> None:
    """A worker process: book, and die after the INSERT and UPDATE were sent but before COMMIT."""
    from training import create_app
    from training.booking import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    real_audit = services.audit.booking_made

    def audit_then_die(*args, **kwargs) -> None:
        real_audit(*args, **kwargs)  # the last step of the booking before its commit
        db.session.flush()  # the booking's INSERT and the session's places taken UPDATE are sent
        assert db.session.scalar(select(Booking.id).where(Booking.user_id == user_id)) is not None
        inside.set()
        if how == "exit":
            os._exit(3)  # no rollback, no cleanup, no commit
        signal.pause()  # wait for SIGKILL

    services.audit.booking_made = audit_then_die
    with app.app_context():
        services.book_place(session_id, db.session.get(User, user_id))
    raise AssertionError("the booking was committed")  # never reached


def _another_writer_is_mid_transaction() -> bool:
    """SQLite: the write lock is taken. PostgreSQL: a backend sits idle in a transaction."""
    if db.engine.dialect.name == "sqlite":
        probe = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()
        return False
    with db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )).scalar_one() >= 1


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_a_worker_killed_inside_the_booking_transaction_leaves_no_booking(app, how):
    session_id = _session_with_two_bookings()
    person_id = UserFactory().id
    db.session.commit()
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections
    inside = context.Event()
    worker = context.Process(target=_die_inside_booking,
                             args=(app.config["SQLALCHEMY_DATABASE_URI"], session_id, person_id, how, inside))
    worker.start()
    try:
        assert inside.wait(timeout=120), "the worker never reached the booking transaction"
        if how == "sigkill":
            assert _another_writer_is_mid_transaction()
            os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=60)
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()

    assert worker.exitcode == (3 if how == "exit" else -signal.SIGKILL)
    assert booking_state(session_id) == (2, 2)
    # The dead worker's lock went with it: the same person can now book, and the count is right.
    db.session.expire_all()
    booking = booking_services.book_place(session_id, db.session.get(User, person_id))
    assert booking.status == BookingStatus.CONFIRMED
    assert booking_state(session_id) == (3, 3)
