"""Each audited action leaves one event naming the right actor, action and record; a
person's own bookings and cancellations leave none."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.audit.helpers import events
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from training.accounts import services as accounts
from training.accounts.models import Role
from training.attendance import services as attendance
from training.attendance.models import AttendanceOutcome
from training.booking import services as booking
from training.booking.models import BookingStatus
from training.certificates import services as certificates
from training.db import utcnow

PERSONAL = ("@", "Person ")  # emails and factory names must never reach a summary


def _only(action_prefix: str):
    found = events(action_prefix)
    assert len(found) == 1, [e.action for e in found]
    event = found[0]
    assert not any(mark in event.summary for mark in PERSONAL), event.summary
    return event


def _past_session(**kwargs):
    start = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    return SessionFactory(starts_at=start, booking_closes_at=start - timedelta(days=1), **kwargs)


# --- roles and accounts ---------------------------------------------------------------

def test_granting_and_revoking_roles_is_audited():
    coordinator, person = CoordinatorFactory(), UserFactory()
    accounts.set_roles(person, [Role.PROFESSIONAL, Role.TRAINER], actor=coordinator)
    granted = _only("role.granted")
    assert (granted.actor_id, granted.object_type, granted.object_id) == (coordinator.id, "user", person.id)
    assert granted.summary == f"Granted trainer to person {person.id}"
    accounts.set_roles(person, [Role.TRAINER], actor=coordinator)
    revoked = _only("role.revoked")
    assert revoked.summary == f"Revoked professional from person {person.id}"
    assert revoked.actor_id == coordinator.id


def test_setting_the_same_roles_again_records_nothing():
    coordinator, person = CoordinatorFactory(), UserFactory()
    accounts.set_roles(person, [Role.PROFESSIONAL], actor=coordinator)
    assert events() == []


def test_deactivating_and_reactivating_an_account_is_audited():
    coordinator, person = CoordinatorFactory(), UserFactory()
    accounts.set_active(person, False, actor=coordinator)
    event = _only("account.deactivated")
    assert (event.actor_id, event.object_type, event.object_id) == (coordinator.id, "user", person.id)
    accounts.set_active(person, True, actor=coordinator)
    assert _only("account.reactivated").object_id == person.id
    accounts.set_active(person, True, actor=coordinator)  # no change: nothing new
    assert len(events("account.")) == 2


# --- bookings -------------------------------------------------------------------------

def test_a_coordinator_booking_someone_is_audited():
    coordinator, person, session = CoordinatorFactory(), UserFactory(), SessionFactory()
    made = booking.book_on_behalf(session.id, person.email, coordinator)
    event = _only("booking.made")
    assert (event.actor_id, event.object_type, event.object_id) == (coordinator.id, "booking", made.id)
    assert event.summary == f"Booked person {person.id} on session {session.id} (confirmed)"


def test_overbooking_is_audited_as_such():
    coordinator, session = CoordinatorFactory(), SessionFactory(capacity=1)
    BookingFactory(session=session)
    person = UserFactory()
    made = booking.book_on_behalf(session.id, person.email, coordinator, overbook=True)
    event = _only("booking.overbooked")
    assert (event.actor_id, event.object_id) == (coordinator.id, made.id)


def test_a_professionals_own_booking_and_cancellation_are_not_audited():
    person, session = UserFactory(), SessionFactory()
    own = booking.book_place(session.id, person)
    booking.cancel_booking(own.id, person)
    assert events() == []


def test_a_coordinators_own_booking_is_not_a_staff_action():
    coordinator, session = CoordinatorFactory(), SessionFactory()
    booking.book_place(session.id, coordinator, by=coordinator)
    assert events() == []


def test_a_coordinator_cancelling_someones_booking_is_audited():
    coordinator, session = CoordinatorFactory(), SessionFactory()
    place = BookingFactory(session=session)
    booking.cancel_booking(place.id, coordinator)
    event = _only("booking.cancelled")
    assert (event.actor_id, event.object_type, event.object_id) == (coordinator.id, "booking", place.id)
    assert event.summary.endswith("is now cancelled")


def test_a_coordinator_moving_a_booking_is_audited():
    coordinator, source, target = CoordinatorFactory(), SessionFactory(), SessionFactory()
    place = BookingFactory(session=source)
    new = booking.move_booking(place.id, target.id, coordinator)
    event = _only("booking.moved")
    assert (event.actor_id, event.object_type, event.object_id) == (coordinator.id, "booking", place.id)
    assert f"to session {target.id} as booking {new.id}" in event.summary


def test_a_coordinator_transferring_someones_place_is_audited():
    coordinator, agency = CoordinatorFactory(), AgencyFactory()
    place = BookingFactory(user=UserFactory(agency=agency))
    colleague = UserFactory(agency=agency)
    booking.transfer_booking(place.id, coordinator, colleague.email)
    event = _only("booking.transferred")
    assert (event.actor_id, event.object_id) == (coordinator.id, place.id)


def test_a_coordinator_declining_an_offer_for_someone_is_audited_but_not_the_owner():
    coordinator = CoordinatorFactory()
    now = utcnow()
    offered = [BookingFactory(status=BookingStatus.OFFERED, offer_expires_at=now + timedelta(hours=5))
               for _ in range(2)]
    booking.decline_offer(offered[0].id, offered[0].user, now=now)
    assert events() == []
    booking.decline_offer(offered[1].id, coordinator, now=now)
    assert _only("booking.offer_declined").object_id == offered[1].id


# --- attendance -----------------------------------------------------------------------

def test_recording_and_changing_attendance_is_audited():
    trainer = TrainerFactory()
    session = _past_session(trainers=[trainer])
    place = BookingFactory(session=session)
    attendance.record_attendance(session.id, {place.id: AttendanceOutcome.ATTENDED}, trainer)
    recorded = _only("attendance.recorded")
    assert (recorded.actor_id, recorded.object_type, recorded.object_id) == (trainer.id, "booking", place.id)
    assert recorded.summary == f"Marked booking {place.id} on session {session.id} as attended"
    attendance.record_attendance(session.id, {place.id: AttendanceOutcome.ATTENDED}, trainer)
    assert events("attendance.changed") == []  # saving the same mark again changes nothing
    attendance.record_attendance(session.id, {place.id: AttendanceOutcome.DID_NOT_ATTEND}, trainer)
    changed = _only("attendance.changed")
    assert changed.summary.endswith("from attended to did-not-attend")


def test_walk_ins_and_completing_the_register_are_audited():
    trainer, agency = TrainerFactory(), AgencyFactory()
    session = _past_session(trainers=[trainer])
    walk_in = attendance.add_walk_in(session.id, name="Wendy Walkin", email="wendy@example.org",
                                     agency_id=agency.id, outcome=AttendanceOutcome.ATTENDED, actor=trainer)
    added = _only("attendance.walk_in_added")
    assert (added.actor_id, added.object_type, added.object_id) == (trainer.id, "attendance", walk_in.id)
    assert "Wendy" not in added.summary
    attendance.remove_walk_in(session.id, walk_in.id, trainer)
    assert _only("attendance.walk_in_removed").object_id == walk_in.id
    attendance.complete_register(session.id, trainer)
    completed = _only("register.completed")
    assert (completed.actor_id, completed.object_type, completed.object_id) == (trainer.id, "session", session.id)


def test_a_refused_register_change_leaves_no_event():
    trainer = TrainerFactory()
    session = _past_session(trainers=[trainer])
    BookingFactory(session=session)
    with pytest.raises(attendance.RegisterIncomplete):
        attendance.complete_register(session.id, trainer)
    assert events() == []


# --- exports of personal data ---------------------------------------------------------

@pytest.fixture
def fake_pdf(monkeypatch):
    """Skip WeasyPrint: the audit is about the download, not the rendering."""
    monkeypatch.setattr(certificates, "render_pdf", lambda html: b"%PDF-fake")


def test_downloading_bulk_certificates_is_audited(app, fake_pdf):
    coordinator = CoordinatorFactory()
    present = AttendanceFactory()
    with app.test_request_context():
        certificates.session_certificates_pdf(present.session_id, coordinator, "https://example.org/verify")
    event = _only("export.bulk_certificates")
    assert (event.actor_id, event.object_type, event.object_id) == (coordinator.id, "session", present.session_id)
    assert event.summary == f"Downloaded 1 certificate of session {present.session_id}"


def test_downloading_a_sign_in_sheet_is_audited(app, fake_pdf):
    trainer = TrainerFactory()
    session = SessionFactory(trainers=[trainer])
    BookingFactory(session=session)
    with app.test_request_context():
        certificates.sign_in_sheet_pdf(session.id, trainer, 5)
    event = _only("export.sign_in_sheet")
    assert (event.actor_id, event.object_type, event.object_id) == (trainer.id, "session", session.id)
