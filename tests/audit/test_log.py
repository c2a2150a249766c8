"""The audit log itself: recording joins the caller's transaction, and nothing can change it."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from tests.audit.helpers import events
from tests.factories import AgencyFactory, CoordinatorFactory
from training.audit import services
from training.audit.models import AuditEvent, AuditLogIsAppendOnly
from training.audit.services import NotInWriteTransaction
from training.db import write_transaction
from training.extensions import db


def _one_event() -> AuditEvent:
    coordinator = CoordinatorFactory()
    with write_transaction():
        services.record(coordinator, "role.granted", "user", 42, "Granted trainer to person 42",
                        datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    return events()[0]


def test_record_commits_with_the_change_it_describes():
    event = _one_event()
    assert (event.action, event.object_type, event.object_id) == ("role.granted", "user", 42)
    assert event.summary == "Granted trainer to person 42"
    assert event.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert event.actor_id is not None


def test_record_rolls_back_with_the_change_it_describes():
    coordinator = CoordinatorFactory()
    agency = AgencyFactory(name="Before")
    with pytest.raises(RuntimeError, match="refused"), write_transaction():
        agency.name = "After"
        services.record(coordinator, "agency.renamed", "agency", agency.id, f"Renamed agency {agency.id}")
        raise RuntimeError("refused")
    assert events() == []
    assert db.session.get(type(agency), agency.id).name == "Before"


def test_record_refuses_to_run_outside_a_write_transaction():
    with pytest.raises(NotInWriteTransaction):
        services.record(None, "role.granted", "user", 1, "Granted trainer to person 1")
    assert events() == []


def test_a_system_event_has_no_actor():
    with write_transaction():
        services.record(None, "booking.expired", "booking", 7, "Offer on booking 7 expired")
    [event] = events()
    assert event.actor_id is None


def test_an_event_cannot_be_changed():
    event = _one_event()
    with pytest.raises(AuditLogIsAppendOnly), write_transaction():
        event.summary = "Nothing happened"
    assert events()[0].summary == "Granted trainer to person 42"


def test_an_event_cannot_be_deleted():
    event = _one_event()
    with pytest.raises(AuditLogIsAppendOnly), write_transaction():
        db.session.delete(event)
    assert len(events()) == 1


def test_the_service_offers_no_way_to_change_or_delete_events():
    public = {name for name in dir(services) if not name.startswith("_")}
    assert not {name for name in public if any(w in name for w in ("update", "delete", "remove_event", "edit"))}


def test_erasing_the_actor_keeps_the_event_without_them():
    event = _one_event()
    actor_id = event.actor_id
    # Bulk SQL, as an erasure would run: the database sets the actor to NULL itself.
    with write_transaction():
        grants, users = db.metadata.tables["role_grants"], db.metadata.tables["users"]
        db.session.execute(delete(grants).where(grants.c.user_id == actor_id))
        db.session.execute(delete(users).where(users.c.id == actor_id))
    db.session.expire_all()
    [kept] = events()
    assert kept.actor_id is None
    assert kept.summary == "Granted trainer to person 42"
