"""How `enqueue` writes an email: at once when nothing else is waiting to be written, else
with the caller's other changes, so a change that emails many people writes its emails together."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import BookingFactory, CoordinatorFactory, SessionFactory
from tests.sql import recorded_statements
from training.catalogue import services as catalogue
from training.db import utcnow, write_transaction
from training.extensions import db
from training.notifications.models import MessageKind, Outbox
from training.notifications.outbox import enqueue


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
