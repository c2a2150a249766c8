"""Booking rules, through the services, on a real database."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.booking.helpers import assert_places_consistent, reload, status_of
from tests.factories import AgencyFactory, CoordinatorFactory, SessionFactory, TrainerFactory, UserFactory
from training.booking import services
from training.booking.errors import (
    AlreadyBooked,
    BookingClosed,
    InvalidTransition,
    MoveRefused,
    NotAllowed,
    OfferExpired,
    PersonNotFound,
    SessionCancelledError,
    SessionInPast,
    TransferRefused,
)
from training.booking.models import Booking, BookingStatus
from training.catalogue import signals
from training.catalogue.models import CourseSession
from training.catalogue.services import lock_session
from training.db import kept_after_commit, utcnow, write_transaction
from training.extensions import db

S = BookingStatus


def _count_bookings() -> int:
    return len(db.session.scalars(select(Booking.id)).all())


def _fill(session, n):
    """n people booked (or queued) on the session, in order."""
    people = UserFactory.create_batch(n)
    return people, [services.book_place(session.id, p) for p in people]


# ---------------------------------------------------------------------------
# Booking a place
# ---------------------------------------------------------------------------

def test_booking_confirms_a_place_and_counts_it():
    session = SessionFactory(capacity=2)
    person = UserFactory()
    booking = services.book_place(session.id, person)
    assert status_of(booking) == S.CONFIRMED
    assert reload(booking).confirmed_at is not None
    assert reload(booking).overbooked is False
    assert assert_places_consistent(session.id) == 1


def test_a_full_session_puts_people_on_the_waiting_list_in_order():
    session = SessionFactory(capacity=2)
    _, bookings = _fill(session, 5)
    assert [status_of(b) for b in bookings] == [S.CONFIRMED, S.CONFIRMED, S.WAITLISTED, S.WAITLISTED, S.WAITLISTED]
    assert [services.waiting_list_position(reload(b)) for b in bookings] == [None, None, 1, 2, 3]
    assert assert_places_consistent(session.id) == 2


@pytest.mark.parametrize(
    ("scene", "error"),
    [
        ({"booking_closes_at_offset": -1}, BookingClosed),
        ({"cancelled": True}, SessionCancelledError),
        ({"past": True}, SessionInPast),
    ],
    ids=["closed", "cancelled", "past"],
)
def test_booking_is_refused_when_closed_cancelled_or_past(scene, error):
    now = utcnow()
    if scene.get("past"):
        session = SessionFactory(starts_at=now - timedelta(hours=1), booking_closes_at=now - timedelta(days=1))
    elif scene.get("cancelled"):
        session = SessionFactory()
        with write_transaction():
            db.session.get(CourseSession, session.id).cancel(now, "Trainer unwell")
    else:
        session = SessionFactory(booking_closes_at=now - timedelta(minutes=1))
    person = UserFactory()
    with pytest.raises(error) as caught:
        services.book_place(session.id, person, now=now)
    assert caught.value.message
    assert _count_bookings() == 0
    assert reload(session).places_taken == 0


def test_booking_closes_exactly_at_the_close_time():
    session = SessionFactory()
    closes = reload(session).booking_closes_at
    services.book_place(session.id, UserFactory(), now=closes - timedelta(seconds=1))
    with pytest.raises(BookingClosed):
        services.book_place(session.id, UserFactory(), now=closes)


def test_a_coordinator_can_still_book_someone_after_the_close_date_but_not_after_the_start():
    now = utcnow()
    session = SessionFactory(booking_closes_at=now - timedelta(hours=1))
    coordinator = CoordinatorFactory()
    booking = services.book_place(session.id, UserFactory(), by=coordinator, now=now)
    assert status_of(booking) == S.CONFIRMED
    assert reload(booking).created_by_id == coordinator.id
    with pytest.raises(SessionInPast):
        services.book_place(session.id, UserFactory(), by=coordinator, now=reload(session).starts_at)


def test_one_booking_per_person_per_session():
    session = SessionFactory(capacity=1)
    first, second = UserFactory(), UserFactory()
    services.book_place(session.id, first)
    services.book_place(session.id, second)  # waiting list
    with pytest.raises(AlreadyBooked):
        services.book_place(session.id, first)
    with pytest.raises(AlreadyBooked):
        services.book_place(session.id, second)
    assert _count_bookings() == 2


def test_an_offered_person_cannot_book_again():
    session = SessionFactory(capacity=1)
    (holder, waiting), (held, offered) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    assert status_of(offered) == S.OFFERED
    with pytest.raises(AlreadyBooked):
        services.book_place(session.id, waiting)


def test_rebooking_after_cancelling_is_allowed():
    session = SessionFactory()
    person = UserFactory()
    first = services.book_place(session.id, person)
    services.cancel_booking(first.id, person)
    again = services.book_place(session.id, person)
    assert again.id != first.id
    assert status_of(again) == S.CONFIRMED
    assert status_of(first) == S.CANCELLED
    assert assert_places_consistent(session.id) == 1


def test_a_deactivated_account_cannot_be_booked():
    session = SessionFactory()
    person = UserFactory(active=False)
    with pytest.raises(NotAllowed):
        services.book_place(session.id, person)
    assert _count_bookings() == 0


def test_unknown_session_is_a_lookup_error():
    with pytest.raises(LookupError):
        services.book_place(999_999, UserFactory())


def test_a_newcomer_never_jumps_the_waiting_list():
    session = SessionFactory(capacity=1)
    (holder, waiting), (held, queued) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    newcomer = services.book_place(session.id, UserFactory())
    assert status_of(queued) == S.OFFERED
    assert status_of(newcomer) == S.WAITLISTED
    assert assert_places_consistent(session.id) == 1


# ---------------------------------------------------------------------------
# Overbooking and booking on someone's behalf
# ---------------------------------------------------------------------------

def test_only_coordinators_can_overbook():
    session = SessionFactory(capacity=1)
    _fill(session, 1)
    person = UserFactory()
    with pytest.raises(NotAllowed):
        services.book_place(session.id, person, overbook=True)
    with pytest.raises(NotAllowed):
        services.book_place(session.id, person, by=TrainerFactory(), overbook=True)
    assert _count_bookings() == 1


def test_a_coordinator_overbooks_a_full_session_deliberately():
    session = SessionFactory(capacity=1)
    _fill(session, 2)  # one booked, one waiting
    coordinator = CoordinatorFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person, by=coordinator, overbook=True)
    assert status_of(booking) == S.CONFIRMED
    assert reload(booking).overbooked is True
    assert assert_places_consistent(session.id) == 2
    assert reload(session).places_left == -1


def test_overbook_with_a_free_place_is_an_ordinary_booking():
    session = SessionFactory(capacity=3)
    booking = services.book_place(session.id, UserFactory(), by=CoordinatorFactory(), overbook=True)
    assert reload(booking).overbooked is False


def test_without_overbook_a_coordinator_puts_the_person_on_the_waiting_list():
    session = SessionFactory(capacity=1)
    _fill(session, 1)
    booking = services.book_place(session.id, UserFactory(), by=CoordinatorFactory())
    assert status_of(booking) == S.WAITLISTED


def test_book_on_behalf_finds_the_person_by_email_ignoring_case():
    session = SessionFactory()
    person = UserFactory(email="sam.jones@example.org")
    booking = services.book_on_behalf(session.id, "  Sam.Jones@Example.org ", CoordinatorFactory())
    assert reload(booking).user_id == person.id


def test_book_on_behalf_refuses_unknown_and_deactivated_people_and_non_coordinators():
    session = SessionFactory()
    UserFactory(email="gone@example.org", active=False)
    coordinator = CoordinatorFactory()
    with pytest.raises(PersonNotFound):
        services.book_on_behalf(session.id, "nobody@example.org", coordinator)
    with pytest.raises(PersonNotFound):
        services.book_on_behalf(session.id, "gone@example.org", coordinator)
    UserFactory(email="someone@example.org")
    with pytest.raises(NotAllowed):
        services.book_on_behalf(session.id, "someone@example.org", UserFactory())
    assert _count_bookings() == 0


def test_book_on_behalf_of_someone_already_booked_names_them():
    session = SessionFactory()
    person = UserFactory(name="Alex Smith", email="alex@example.org")
    services.book_place(session.id, person)
    with pytest.raises(AlreadyBooked) as caught:
        services.book_on_behalf(session.id, "alex@example.org", CoordinatorFactory())
    assert "Alex Smith" in caught.value.message


# ---------------------------------------------------------------------------
# Cancelling, leaving the waiting list, offers
# ---------------------------------------------------------------------------

def test_cancelling_offers_the_place_to_the_first_person_waiting(app):
    session = SessionFactory(capacity=1)
    (holder, first, second), (held, q1, q2) = _fill(session, 3)
    now = utcnow()
    services.cancel_booking(held.id, holder, now=now)
    assert status_of(held) == S.CANCELLED
    offered = reload(q1)
    assert offered.status == S.OFFERED
    assert offered.offered_at == now
    assert offered.offer_expires_at == now + timedelta(hours=app.config["OFFER_HOURS"])
    assert status_of(q2) == S.WAITLISTED
    assert services.waiting_list_position(reload(q2)) == 1
    assert assert_places_consistent(session.id) == 1


def test_offer_hours_are_configurable(app):
    session = SessionFactory(capacity=1)
    (holder, _), (held, queued) = _fill(session, 2)
    now = utcnow()
    app.config["OFFER_HOURS"] = 6
    try:
        services.cancel_booking(held.id, holder, now=now)
    finally:
        app.config["OFFER_HOURS"] = 48
    assert reload(queued).offer_expires_at == now + timedelta(hours=6)


def test_an_offer_never_outlasts_the_session_start():
    now = utcnow()
    session = SessionFactory(capacity=1, starts_at=now + timedelta(hours=5), booking_closes_at=now)
    coordinator = CoordinatorFactory()
    holder, waiting = UserFactory(), UserFactory()
    held = services.book_place(session.id, holder, by=coordinator, now=now)
    queued = services.book_place(session.id, waiting, by=coordinator, now=now)
    services.cancel_booking(held.id, holder, now=now)
    assert reload(queued).offer_expires_at == reload(session).starts_at


def test_cancelling_after_the_start_is_refused():
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    with pytest.raises(SessionInPast):
        services.cancel_booking(booking.id, person, now=reload(session).starts_at)
    assert status_of(booking) == S.CONFIRMED


def test_a_cancelled_booking_cannot_be_cancelled_again():
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    services.cancel_booking(booking.id, person)
    with pytest.raises(InvalidTransition):
        services.cancel_booking(booking.id, person)
    assert status_of(booking) == S.CANCELLED


def test_only_the_person_or_a_coordinator_can_cancel():
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    with pytest.raises(NotAllowed):
        services.cancel_booking(booking.id, UserFactory())
    with pytest.raises(NotAllowed):
        services.cancel_booking(booking.id, TrainerFactory())
    assert status_of(booking) == S.CONFIRMED
    services.cancel_booking(booking.id, CoordinatorFactory())
    assert status_of(booking) == S.CANCELLED


def test_leaving_the_waiting_list_moves_the_others_up():
    session = SessionFactory(capacity=1)
    people, (held, q1, q2, q3) = _fill(session, 4)
    services.cancel_booking(q2.id, people[2])
    assert status_of(q2) == S.WITHDRAWN
    assert [services.waiting_list_position(reload(b)) for b in (q1, q3)] == [1, 2]
    assert status_of(held) == S.CONFIRMED
    assert assert_places_consistent(session.id) == 1


def test_accepting_an_offer_confirms_the_place():
    session = SessionFactory(capacity=1)
    (holder, waiting), (held, queued) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    services.accept_offer(queued.id, waiting)
    accepted = reload(queued)
    assert accepted.status == S.CONFIRMED
    assert accepted.offer_expires_at is None
    assert assert_places_consistent(session.id) == 1


def test_someone_else_cannot_accept_or_decline_an_offer():
    session = SessionFactory(capacity=1)
    (holder, waiting), (held, queued) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    with pytest.raises(NotAllowed):
        services.accept_offer(queued.id, holder)
    with pytest.raises(NotAllowed):
        services.decline_offer(queued.id, holder)
    assert status_of(queued) == S.OFFERED


def test_accepting_without_an_offer_is_refused():
    session = SessionFactory(capacity=1)
    (holder, waiting), (held, queued) = _fill(session, 2)
    with pytest.raises(InvalidTransition):
        services.accept_offer(queued.id, waiting)
    with pytest.raises(InvalidTransition):
        services.accept_offer(held.id, holder)
    assert status_of(queued) == S.WAITLISTED


def test_accepting_after_expiry_is_refused_and_the_place_passes_on():
    session = SessionFactory(capacity=1)
    (holder, first, second), (held, q1, q2) = _fill(session, 3)
    services.cancel_booking(held.id, holder)
    expires = reload(q1).offer_expires_at
    with pytest.raises(OfferExpired):
        services.accept_offer(q1.id, first, now=expires)
    assert status_of(q1) == S.EXPIRED
    assert status_of(q2) == S.OFFERED
    assert assert_places_consistent(session.id) == 1


def test_an_offer_cannot_be_accepted_once_the_session_has_started():
    session = SessionFactory(capacity=1)
    (holder, first), (held, q1) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    with write_transaction():  # the session is brought forward after the offer was made
        moved = db.session.get(CourseSession, session.id)
        moved.starts_at, moved.ends_at = utcnow() + timedelta(hours=1), utcnow() + timedelta(hours=4)
        moved.booking_closes_at = utcnow()
    with pytest.raises(SessionInPast):
        services.accept_offer(q1.id, first, now=utcnow() + timedelta(hours=2))
    assert status_of(q1) == S.OFFERED


def test_accepting_just_before_expiry_works():
    session = SessionFactory(capacity=1)
    (holder, first), (held, q1) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    expires = reload(q1).offer_expires_at
    services.accept_offer(q1.id, first, now=expires - timedelta(seconds=1))
    assert status_of(q1) == S.CONFIRMED


def test_declining_passes_the_place_to_the_next_person():
    session = SessionFactory(capacity=1)
    (holder, first, second), (held, q1, q2) = _fill(session, 3)
    services.cancel_booking(held.id, holder)
    services.decline_offer(q1.id, first)
    assert status_of(q1) == S.DECLINED
    assert status_of(q2) == S.OFFERED
    assert assert_places_consistent(session.id) == 1


def test_declining_an_offer_already_accepted_does_not_cancel_the_place():
    session = SessionFactory(capacity=1)
    (holder, first), (held, q1) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    services.accept_offer(q1.id, first)  # e.g. in another browser tab
    with pytest.raises(InvalidTransition):
        services.decline_offer(q1.id, first)
    assert status_of(q1) == S.CONFIRMED


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_declining_a_lapsed_offer_records_it_as_expired(action):
    session = SessionFactory(capacity=1)
    (holder, first, second), (held, q1, q2) = _fill(session, 3)
    services.cancel_booking(held.id, holder)
    later = reload(q1).offer_expires_at + timedelta(minutes=1)
    act = services.decline_offer if action == "decline" else services.cancel_booking
    with pytest.raises(OfferExpired):
        act(q1.id, first, now=later)
    assert status_of(q1) == S.EXPIRED
    assert status_of(q2) == S.OFFERED


def test_expire_offers_passes_each_lapsed_offer_to_the_next_person_and_is_repeatable():
    a = SessionFactory(capacity=1)
    b = SessionFactory(capacity=1)
    (ha, a1, a2), (held_a, qa1, qa2) = _fill(a, 3)
    (hb, b1), (held_b, qb1) = _fill(b, 2)
    now = utcnow()
    services.cancel_booking(held_a.id, ha, now=now)
    services.cancel_booking(held_b.id, hb, now=now)
    later = reload(qa1).offer_expires_at
    assert services.expire_offers(now=later - timedelta(seconds=1)) == 0
    assert services.expire_offers(now=later) == 2
    assert status_of(qa1) == S.EXPIRED
    assert status_of(qa2) == S.OFFERED
    assert status_of(qb1) == S.EXPIRED
    assert services.expire_offers(now=later) == 0
    assert assert_places_consistent(a.id) == 1
    assert assert_places_consistent(b.id) == 0


def test_expire_offers_command(runner):
    session = SessionFactory(capacity=1)
    (holder, first), (held, q1) = _fill(session, 2)
    services.cancel_booking(held.id, holder, now=utcnow() - timedelta(hours=49))
    result = runner.invoke(args=["expire-offers"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 offer(s)" in result.output
    assert status_of(q1) == S.EXPIRED


def test_a_lapsed_offer_is_released_when_someone_next_books():
    session = SessionFactory(capacity=1)
    (holder, first), (held, q1) = _fill(session, 2)
    services.cancel_booking(held.id, holder)
    later = reload(q1).offer_expires_at + timedelta(minutes=1)
    newcomer = services.book_place(session.id, UserFactory(), now=later)
    assert status_of(q1) == S.EXPIRED
    assert status_of(newcomer) == S.CONFIRMED
    assert assert_places_consistent(session.id) == 1


# ---------------------------------------------------------------------------
# Transfers
# ---------------------------------------------------------------------------

def test_transfer_to_a_colleague_from_the_same_agency():
    session = SessionFactory(capacity=1)
    agency = AgencyFactory()
    person = UserFactory(agency=agency)
    colleague = UserFactory(agency=agency, email="colleague@example.org")
    booking = services.book_place(session.id, person)
    new = services.transfer_booking(booking.id, person, "Colleague@Example.org")
    assert status_of(booking) == S.TRANSFERRED
    new = reload(new)
    assert new.user_id == colleague.id
    assert new.status == S.CONFIRMED
    assert new.previous_booking_id == booking.id
    assert new.created_by_id == person.id
    assert assert_places_consistent(session.id) == 1


@pytest.mark.parametrize("case", ["other-agency", "no-account", "deactivated", "already-booked",
                                  "already-waiting", "same-person"])
def test_transfer_refusals_change_nothing(case):
    session = SessionFactory(capacity=1)
    agency = AgencyFactory()
    person = UserFactory(agency=agency, email="me@example.org")
    booking = services.book_place(session.id, person)
    email = "colleague@example.org"
    if case == "other-agency":
        UserFactory(email=email)
    elif case == "deactivated":
        UserFactory(agency=agency, email=email, active=False)
    elif case == "already-booked":
        other = SessionFactory(capacity=2)
        colleague = UserFactory(agency=agency, email=email)
        session.capacity = 2
        db.session.commit()
        services.book_place(session.id, colleague)
        services.book_place(other.id, colleague)
    elif case == "already-waiting":
        colleague = UserFactory(agency=agency, email=email)
        services.book_place(session.id, colleague)
    elif case == "same-person":
        email = "me@example.org"
    before = _count_bookings()
    with pytest.raises(TransferRefused) as caught:
        services.transfer_booking(booking.id, person, email)
    assert caught.value.message
    assert status_of(booking) == S.CONFIRMED
    assert _count_bookings() == before
    assert_places_consistent(session.id)


@pytest.mark.parametrize("status", [S.WAITLISTED, S.OFFERED, S.CANCELLED])
def test_only_a_confirmed_place_can_be_transferred(status):
    session = SessionFactory(capacity=1)
    agency = AgencyFactory()
    holder = UserFactory(agency=agency)
    person = UserFactory(agency=agency)
    UserFactory(agency=agency, email="colleague@example.org")
    held = services.book_place(session.id, holder)
    booking = services.book_place(session.id, person)
    if status != S.WAITLISTED:
        services.cancel_booking(held.id, holder)  # person's place is now offered
    if status == S.CANCELLED:
        booking, person = held, holder
    assert status_of(booking) == status
    with pytest.raises(TransferRefused):
        services.transfer_booking(booking.id, person, "colleague@example.org")
    assert status_of(booking) == status


def test_transfer_after_the_start_and_of_someone_elses_booking_is_refused():
    session = SessionFactory()
    agency = AgencyFactory()
    person = UserFactory(agency=agency)
    UserFactory(agency=agency, email="colleague@example.org")
    booking = services.book_place(session.id, person)
    with pytest.raises(NotAllowed):
        services.transfer_booking(booking.id, UserFactory(agency=agency), "colleague@example.org")
    with pytest.raises(SessionInPast):
        services.transfer_booking(booking.id, person, "colleague@example.org", now=reload(session).starts_at)
    assert status_of(booking) == S.CONFIRMED


# ---------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------

def test_move_frees_the_place_in_the_source_and_offers_it():
    source = SessionFactory(capacity=1)
    target = SessionFactory(capacity=5)
    (holder, waiting), (held, queued) = _fill(source, 2)
    coordinator = CoordinatorFactory()
    new = services.move_booking(held.id, target.id, coordinator)
    assert status_of(held) == S.MOVED
    new = reload(new)
    assert (new.session_id, new.user_id, new.status) == (target.id, holder.id, S.CONFIRMED)
    assert new.previous_booking_id == held.id
    assert status_of(queued) == S.OFFERED
    assert assert_places_consistent(source.id) == 1
    assert assert_places_consistent(target.id) == 1


def test_move_to_a_full_session_joins_its_waiting_list_unless_overbooked():
    source = SessionFactory(capacity=5)
    target = SessionFactory(capacity=1)
    _fill(target, 1)
    (a, b), (ba, bb) = _fill(source, 2)
    coordinator = CoordinatorFactory()
    queued = services.move_booking(ba.id, target.id, coordinator)
    assert status_of(queued) == S.WAITLISTED
    assert services.waiting_list_position(reload(queued)) == 1
    overbooked = services.move_booking(bb.id, target.id, coordinator, overbook=True)
    assert status_of(overbooked) == S.CONFIRMED
    assert reload(overbooked).overbooked is True
    assert assert_places_consistent(target.id) == 2
    assert assert_places_consistent(source.id) == 0


def test_a_waiting_list_place_can_be_moved():
    source = SessionFactory(capacity=1)
    target = SessionFactory(capacity=1)
    (holder, waiting), (held, queued) = _fill(source, 2)
    new = services.move_booking(queued.id, target.id, CoordinatorFactory())
    assert status_of(queued) == S.MOVED
    assert status_of(new) == S.CONFIRMED


def test_only_coordinators_move_bookings():
    source, target = SessionFactory(), SessionFactory()
    person = UserFactory()
    booking = services.book_place(source.id, person)
    with pytest.raises(NotAllowed):
        services.move_booking(booking.id, target.id, person)
    assert status_of(booking) == S.CONFIRMED


def test_move_refusals_change_nothing():
    now = utcnow()
    source = SessionFactory()
    coordinator = CoordinatorFactory()
    person = UserFactory()
    booking = services.book_place(source.id, person)
    cancelled = SessionFactory()
    with write_transaction():
        db.session.get(CourseSession, cancelled.id).cancel(now, "Venue unavailable")
    past = SessionFactory(starts_at=now - timedelta(days=1))
    already = SessionFactory()
    services.book_place(already.id, person)

    with pytest.raises(MoveRefused):
        services.move_booking(booking.id, source.id, coordinator)
    with pytest.raises(SessionCancelledError):
        services.move_booking(booking.id, cancelled.id, coordinator)
    with pytest.raises(SessionInPast):
        services.move_booking(booking.id, past.id, coordinator)
    with pytest.raises(AlreadyBooked):
        services.move_booking(booking.id, already.id, coordinator)
    with pytest.raises(LookupError):
        services.move_booking(booking.id, 999_999, coordinator)
    assert status_of(booking) == S.CONFIRMED
    assert assert_places_consistent(source.id) == 1
    assert assert_places_consistent(already.id) == 1


def test_a_booking_cannot_be_moved_once_its_session_has_started_or_it_is_inactive():
    now = utcnow()
    source = SessionFactory(starts_at=now + timedelta(hours=2), booking_closes_at=now)
    target = SessionFactory()
    coordinator = CoordinatorFactory()
    person = UserFactory()
    booking = services.book_place(source.id, person, by=coordinator, now=now)
    with pytest.raises(MoveRefused):
        services.move_booking(booking.id, target.id, coordinator, now=now + timedelta(hours=3))
    services.cancel_booking(booking.id, person, now=now)
    with pytest.raises(MoveRefused):
        services.move_booking(booking.id, target.id, coordinator, now=now)
    assert status_of(booking) == S.LATE_CANCELLED


# ---------------------------------------------------------------------------
# Signals from the catalogue
# ---------------------------------------------------------------------------

def test_cancelling_a_session_releases_every_live_booking():
    session = SessionFactory(capacity=2)
    people, (b1, b2, b3, b4) = _fill(session, 4)
    services.cancel_booking(b1.id, people[0])  # b3 is now offered
    earlier = [status_of(b) for b in (b1, b2, b3, b4)]
    assert earlier == [S.CANCELLED, S.CONFIRMED, S.OFFERED, S.WAITLISTED]
    now = utcnow()
    with write_transaction():
        locked = lock_session(session.id)
        locked.cancel(now, "Trainer unwell")
        signals.session_cancelled.send(locked, now=now)
    assert [status_of(b) for b in (b1, b2, b3, b4)] == [
        S.CANCELLED, S.SESSION_CANCELLED, S.SESSION_CANCELLED, S.SESSION_CANCELLED
    ]
    assert reload(b2).status_changed_at == now
    assert assert_places_consistent(session.id) == 0


def test_a_rolled_back_session_cancellation_keeps_the_bookings():
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    with pytest.raises(RuntimeError):
        with write_transaction():
            locked = lock_session(session.id)
            locked.cancel(utcnow(), "Mistake")
            signals.session_cancelled.send(locked, now=utcnow())
            raise RuntimeError("the catalogue's transaction failed")
    assert status_of(booking) == S.CONFIRMED
    assert assert_places_consistent(session.id) == 1


def test_raising_capacity_offers_the_new_places_in_order():
    session = SessionFactory(capacity=1)
    _, (held, q1, q2, q3) = _fill(session, 4)
    now = utcnow()
    with write_transaction():
        locked = lock_session(session.id)
        locked.capacity = 3
        signals.capacity_raised.send(locked, now=now)
    assert [status_of(b) for b in (q1, q2, q3)] == [S.OFFERED, S.OFFERED, S.WAITLISTED]
    assert assert_places_consistent(session.id) == 3


# ---------------------------------------------------------------------------
# The places_taken invariant under a random mix of actions
# ---------------------------------------------------------------------------

def test_places_taken_always_equals_confirmed_plus_offered():
    rng = random.Random(20260331)
    sessions = [SessionFactory(capacity=c) for c in (1, 2, 3)]
    agency = AgencyFactory()
    people = UserFactory.create_batch(8, agency=agency)
    coordinator = CoordinatorFactory(agency=agency)
    now = utcnow()
    for step in range(120):
        now += timedelta(hours=rng.choice([0, 1, 7, 30]))
        session = rng.choice(sessions)
        person = rng.choice(people)
        live = db.session.scalars(
            select(Booking).where(Booking.session_id == session.id, Booking.is_active)
        ).all()
        action = rng.choice(["book", "book", "cancel", "accept", "decline", "transfer", "move", "overbook", "expire"])
        try:
            if action == "book":
                services.book_place(session.id, person, now=now)
            elif action == "overbook":
                services.book_place(session.id, person, by=coordinator, overbook=True, now=now)
            elif action == "expire":
                services.expire_offers(now=now)
            elif live:
                booking = rng.choice(live)
                owner = db.session.get(type(person), booking.user_id)
                if action == "cancel":
                    services.cancel_booking(booking.id, owner, now=now)
                elif action == "accept":
                    services.accept_offer(booking.id, owner, now=now)
                elif action == "decline":
                    services.decline_offer(booking.id, owner, now=now)
                elif action == "transfer":
                    services.transfer_booking(booking.id, owner, rng.choice(people).email, now=now)
                elif action == "move":
                    target = rng.choice([s for s in sessions if s.id != session.id])
                    services.move_booking(booking.id, target.id, coordinator, now=now, overbook=rng.random() < 0.3)
        except (AlreadyBooked, InvalidTransition, OfferExpired, TransferRefused, MoveRefused,
                SessionInPast, BookingClosed):
            pass
        for s in sessions:
            assert_places_consistent(s.id)
        # One live booking per person per session, whatever happened.
        pairs = db.session.execute(
            select(Booking.session_id, Booking.user_id).where(Booking.is_active)
        ).all()
        assert len(pairs) == len(set(pairs)), f"step {step}: {action}"


# ---------------------------------------------------------------------------
# Queries: the joining link, My training, the coordinator lists, move targets
# ---------------------------------------------------------------------------

def test_joining_link_is_only_for_confirmed_bookers_trainers_and_coordinators():
    trainer = TrainerFactory()
    session = SessionFactory(capacity=1, online_link="https://meet.example.org/abc", venue=None, trainers=[trainer])
    (confirmed, waiting), (held, queued) = _fill(session, 2)
    stranger = UserFactory()
    other_trainer = TrainerFactory()
    s = reload(session)
    assert services.can_see_joining_link(s, confirmed)
    assert services.can_see_joining_link(s, trainer)
    assert services.can_see_joining_link(s, CoordinatorFactory())
    assert not services.can_see_joining_link(s, waiting)
    assert not services.can_see_joining_link(s, stranger)
    assert not services.can_see_joining_link(s, other_trainer)
    assert not services.can_see_joining_link(s, None)
    services.cancel_booking(held.id, confirmed)  # waiting is now offered, not confirmed
    s = reload(session)
    assert not services.can_see_joining_link(s, confirmed)
    assert not services.can_see_joining_link(s, waiting)
    services.accept_offer(queued.id, waiting)
    assert services.can_see_joining_link(reload(session), waiting)


def test_my_training_groups_bookings():
    now = utcnow()
    person = UserFactory()
    upcoming = SessionFactory(starts_at=now + timedelta(days=10))
    later = SessionFactory(starts_at=now + timedelta(days=20))
    full = SessionFactory(capacity=1)
    offer_session = SessionFactory(capacity=1)
    _fill(full, 2)
    b_up = services.book_place(upcoming.id, person)
    b_later = services.book_place(later.id, person)
    b_wait = services.book_place(full.id, person)
    (holder,), (held,) = _fill(offer_session, 1)
    b_offer = services.book_place(offer_session.id, person)
    services.cancel_booking(held.id, holder)
    cancelled = SessionFactory()
    services.cancel_booking(services.book_place(cancelled.id, person).id, person)
    past_session = SessionFactory(starts_at=now - timedelta(days=3), booking_closes_at=now - timedelta(days=4))
    db.session.add(Booking(session_id=past_session.id, user_id=person.id, status=S.CONFIRMED,
                           confirmed_at=now - timedelta(days=10)))
    db.session.commit()

    mine = services.my_training(person)
    assert [b.id for b in mine.upcoming] == [b_up.id, b_later.id]
    assert [(b.id, pos) for b, pos in mine.waiting] == [(b_wait.id, 2)]
    assert [b.id for b in mine.offers] == [b_offer.id]
    assert [b.session_id for b in mine.past.items] == [past_session.id] and mine.past.total == 1
    # An offer that has lapsed is no longer shown as one to accept.
    assert services.my_training(person, now=reload(b_offer).offer_expires_at).offers == []


def test_session_booking_lists_group_and_order_the_bookings():
    session = SessionFactory(capacity=2)
    people, (b1, b2, b3, b4, b5) = _fill(session, 5)
    services.cancel_booking(b1.id, people[0])  # b3 offered
    services.cancel_booking(b5.id, people[4])  # b5 withdrawn
    lists = services.session_booking_lists(session.id)
    assert [b.id for b in lists.confirmed] == [b2.id]
    assert [b.id for b in lists.offers] == [b3.id]
    assert [(b.id, pos) for b, pos in lists.waiting] == [(b4.id, 1)]
    assert {b.id for b in lists.history} == {b1.id, b5.id}
    assert services.session_booking_lists(999_999) is None


def test_move_targets_are_other_upcoming_scheduled_sessions():
    now = utcnow()
    source = SessionFactory(starts_at=now + timedelta(days=5))
    soon = SessionFactory(starts_at=now + timedelta(days=2))
    later = SessionFactory(starts_at=now + timedelta(days=9))
    SessionFactory(starts_at=now - timedelta(days=1))
    cancelled = SessionFactory()
    with write_transaction():
        db.session.get(CourseSession, cancelled.id).cancel(now, "No trainer")
    booking = services.book_place(source.id, UserFactory())
    assert [s.id for s in services.move_targets(reload(booking), now)] == [soon.id, later.id]


# ---------------------------------------------------------------------------
# The waiting-list position a new booking learns under the lock
# ---------------------------------------------------------------------------

def test_a_new_waiting_list_place_knows_its_position_until_a_later_commit():
    session = SessionFactory(capacity=1)
    people, _ = _fill(session, 3)  # one place, two waiting
    with kept_after_commit():  # as the booking page reads the booking it has just made
        booking = services.book_place(session.id, UserFactory())
        assert booking.remembered_position() == 3
        assert services.waiting_list_position(booking) == 3
    # Someone ahead leaves: the next commit forgets the position, so it is counted afresh.
    first_waiting = services.active_booking(session.id, people[1])
    services.cancel_booking(first_waiting.id, people[1])
    assert booking.remembered_position() is None
    assert services.waiting_list_position(booking) == 2


def test_a_booking_that_first_offers_a_free_place_counts_its_position_after_the_offer():
    session = SessionFactory(capacity=1)
    people, bookings = _fill(session, 3)  # one place, two waiting
    # A place appears behind the services' back (as after a restore), so no offer is out yet.
    db.session.execute(update(CourseSession).where(CourseSession.id == session.id).values(capacity=2))
    db.session.commit()
    with kept_after_commit():
        newcomer = services.book_place(session.id, UserFactory())
        told = services.waiting_list_position(newcomer)
    assert status_of(bookings[1]) == S.OFFERED
    assert status_of(newcomer) == S.WAITLISTED
    assert told == 2 == services.waiting_list_position(reload(newcomer))
    assert assert_places_consistent(session.id) == 2
