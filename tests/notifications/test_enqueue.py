"""How `enqueue` writes an email: at once when nothing else is waiting to be written, else
with the caller's other changes, so a change that emails many people writes its emails together;
inside `written_together`, the emails of one event go in one write when it ends."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.factories import BookingFactory, CoordinatorFactory, SessionFactory, UserFactory
from tests.sql import recorded_statements
from training.booking import services as booking
from training.catalogue import services as catalogue
from training.db import utcnow, write_transaction
from training.extensions import db
from training.notifications.models import MessageKind, Outbox
from training.notifications.outbox import enqueue, written_together


def _outbox_inserts(statements) -> int:
    return sum(s.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGES") for s in statements)


def test_a_lone_email_is_written_at_once_and_loaded():
    db.session.commit()
    with write_transaction():
        with recorded_statements() as statements:
            message = enqueue(MessageKind.PASSWORD_RESET, "sam@example.org", "Reset your password", "_smoke",
                              {"name": "Sam"})
        assert _outbox_inserts(statements) == 1  # written before the transaction commits
        assert message.id is not None and message not in db.session.new
        with recorded_statements() as reads:
            assert (message.recipient, message.attempts, message.status.value) == ("sam@example.org", 0, "queued")
        assert reads == []
    assert db.session.scalar(select(func.count(Outbox.id))) == 1


def test_an_email_waits_for_the_changes_pending_before_it():
    coordinator = CoordinatorFactory()
    db.session.commit()
    with write_transaction():
        coordinator.name = "Renamed"  # a change waiting to be written
        with recorded_statements() as statements:
            message = enqueue(MessageKind.PASSWORD_RESET, "sam@example.org", "Reset your password", "_smoke",
                              {"name": "Sam"})
        assert statements == [] and message in db.session.new
    assert db.session.scalar(select(func.count(Outbox.id))) == 1


def _cancel_with_bookings(count: int) -> list[str]:
    session = SessionFactory(starts_at=utcnow() + timedelta(days=20))
    for _ in range(count):
        BookingFactory(session=session)
    coordinator = CoordinatorFactory()
    db.session.commit()
    session_id = session.id
    with recorded_statements() as statements:
        catalogue.cancel_session(session_id, coordinator, "Trainer unwell")
    return statements.queries


def test_cancelling_a_session_writes_everyones_emails_together():
    few, many = _cancel_with_bookings(3), _cancel_with_bookings(10)
    if db.engine.dialect.name == "postgresql":
        # One multi-row INSERT, whatever the number of people.
        assert (_outbox_inserts(few), _outbox_inserts(many)) == (1, 1)
        assert len(few) == len(many)
    else:
        # SQLite writes them one by one (it cannot match a multi-row insert's ids back to the rows).
        assert (_outbox_inserts(few), _outbox_inserts(many)) == (3, 10)
        assert len(many) - len(few) == 7


def _reset(to: str) -> None:
    enqueue(MessageKind.PASSWORD_RESET, to, "Reset your password", "_smoke", {"name": "Sam"})


def test_emails_written_together_wait_for_the_end_and_go_in_one_insert_where_the_database_can():
    db.session.commit()
    with write_transaction():
        with recorded_statements() as statements:
            with written_together():
                _reset("sam@example.org")
                _reset("alex@example.org")
                assert statements == []  # nothing written until the block ends
        assert not db.session.new  # written, not left for the commit's flush
    assert _outbox_inserts(statements) == (2 if db.engine.dialect.name == "sqlite" else 1)
    assert db.session.scalars(select(Outbox.recipient).order_by(Outbox.id)).all() == [
        "sam@example.org", "alex@example.org"]


def test_emails_written_together_are_not_written_when_the_block_fails():
    db.session.commit()
    with pytest.raises(RuntimeError), write_transaction():
        with recorded_statements() as statements, written_together():
            _reset("sam@example.org")
            raise RuntimeError("the change failed")
    assert _outbox_inserts(statements) == 0
    assert db.session.scalar(select(func.count(Outbox.id))) == 0


def test_a_confirmed_booking_leaves_nothing_for_the_commit_to_flush():
    """The place is taken with one UPDATE and the person's and manager's emails are written in
    one INSERT (one each on SQLite) before the commit, which then writes nothing more."""
    session, person = SessionFactory(capacity=5), UserFactory(manager_email="line.manager@example.org")
    db.session.commit()
    flushes: list[int] = []

    def heard(flushed_session, _context, _instances) -> None:
        flushes.append(len(flushed_session.new) + len(flushed_session.dirty))

    with recorded_statements() as statements:
        event.listen(Session, "before_flush", heard)
        try:
            booking.book_place(session.id, person)
        finally:
            event.remove(Session, "before_flush", heard)
    assert not any(flushes)  # every flush found nothing to write
    assert _outbox_inserts(statements) == (2 if db.engine.dialect.name == "sqlite" else 1)
    assert sum(s.lstrip().upper().startswith("UPDATE COURSE_SESSIONS") for s in statements) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Outbox.id)).where(Outbox.kind == MessageKind.MANAGER_COPY)) == 1
