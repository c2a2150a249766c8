"""The transition table is the only authority on booking statuses: every allowed move works
through its named method, and every other (from, to) pair is refused."""
from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from training.booking.errors import InvalidTransition
from training.booking.models import (
    ACTIVE_STATUSES,
    PLACE_HOLDING_STATUSES,
    TRANSITIONS,
    Booking,
    BookingStatus,
)
from training.db import utcnow

NOW = utcnow()

# The named event that leads to each status. AWAITING_APPROVAL has none: it is only ever a
# starting status. WAITLISTED is one too, except that an approval with no place left joins it.
EVENTS = {
    BookingStatus.WAITLISTED: lambda b: b.queue(NOW),
    BookingStatus.NOT_APPROVED: lambda b: b.refuse_approval(NOW),
    BookingStatus.APPROVAL_EXPIRED: lambda b: b.expire_approval(NOW),
    BookingStatus.CONFIRMED: lambda b: b.confirm(NOW),
    BookingStatus.OFFERED: lambda b: b.offer(NOW, NOW + timedelta(hours=48)),
    BookingStatus.CANCELLED: lambda b: b.cancel(NOW, late=False),
    BookingStatus.LATE_CANCELLED: lambda b: b.cancel(NOW, late=True),
    BookingStatus.WITHDRAWN: lambda b: b.withdraw(NOW),
    BookingStatus.DECLINED: lambda b: b.decline(NOW),
    BookingStatus.EXPIRED: lambda b: b.expire(NOW),
    BookingStatus.TRANSFERRED: lambda b: b.mark_transferred(NOW),
    BookingStatus.MOVED: lambda b: b.mark_moved(NOW),
    BookingStatus.SESSION_CANCELLED: lambda b: b.mark_session_cancelled(NOW),
}

ALL_PAIRS = [(a, b) for a in BookingStatus for b in EVENTS]
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS.get(a, frozenset())]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS.get(a, frozenset())]


def _booking(status: BookingStatus) -> Booking:
    earlier = NOW - timedelta(days=1)
    return Booking(status=status, status_changed_at=earlier, queued_at=earlier, created_at=earlier)


def test_every_status_has_a_label_and_every_target_an_event():
    assert {s for s in BookingStatus if s.label}
    targets = set().union(*TRANSITIONS.values())
    assert targets <= set(EVENTS)
    assert BookingStatus.AWAITING_APPROVAL not in targets
    assert [a for a, to in TRANSITIONS.items() if BookingStatus.WAITLISTED in to] == [BookingStatus.AWAITING_APPROVAL]


def test_a_booking_awaiting_approval_holds_a_place_only_while_its_hold_lasts():
    booking = _booking(BookingStatus.AWAITING_APPROVAL)
    booking.approval_holds_place = True
    assert booking.holds_place
    booking.release_approval_hold()
    assert not booking.holds_place
    booking.approval_holds_place = True
    booking.queue(NOW)  # any move out of awaiting approval ends the hold
    assert booking.approval_holds_place is False


def test_only_live_statuses_can_change():
    assert set(TRANSITIONS) == set(ACTIVE_STATUSES)
    assert PLACE_HOLDING_STATUSES < ACTIVE_STATUSES


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_works(start, target):
    booking = _booking(start)
    assert booking.can_become(target)
    EVENTS[target](booking)
    assert booking.status == target
    assert booking.status_changed_at == NOW


@pytest.mark.parametrize(("start", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_other_transition_is_refused(start, target):
    booking = _booking(start)
    before = booking.status_changed_at
    assert not booking.can_become(target)
    with pytest.raises(InvalidTransition):
        EVENTS[target](booking)
    assert booking.status == start
    assert booking.status_changed_at == before


def test_pairs_cover_the_whole_table():
    assert len(ALLOWED) == sum(len(v) for v in TRANSITIONS.values())
    assert len(ALLOWED) + len(REFUSED) == len(BookingStatus) * len(EVENTS)


def test_confirming_an_offer_clears_its_expiry_and_records_overbooking():
    booking = _booking(BookingStatus.OFFERED)
    booking.offer_expires_at = NOW + timedelta(hours=1)
    booking.confirm(NOW, overbooked=True)
    assert booking.offer_expires_at is None
    assert booking.confirmed_at == NOW
    assert booking.overbooked is True


def test_offer_has_expired_at_its_deadline_not_before():
    booking = _booking(BookingStatus.WAITLISTED)
    booking.offer(NOW, NOW + timedelta(hours=2))
    assert not booking.offer_has_expired(NOW + timedelta(hours=1, minutes=59))
    assert booking.offer_has_expired(NOW + timedelta(hours=2))


def test_a_remembered_waiting_list_position_is_forgotten_when_the_status_changes():
    now = utcnow()
    booking = Booking(status=BookingStatus.WAITLISTED)
    assert booking.remembered_position() is None
    booking.remember_position(3)
    assert booking.remembered_position() == 3
    booking.offer(now, now + timedelta(hours=48))
    assert booking.remembered_position() is None


def test_forgetting_a_position_copes_with_a_booking_already_collected():
    """A commit expires every state in the session, and a state's booking may already have been
    collected (by another thread, say): forgetting its position must not need the booking."""
    booking = Booking(status=BookingStatus.WAITLISTED)
    booking.remember_position(2)
    state = inspect(booking)
    del booking
    gc.collect()
    assert state.obj() is None
    state.manager.dispatch.expire(state, None)  # as Session.commit and rollback do
    state.manager.dispatch.refresh(state, None, None)
