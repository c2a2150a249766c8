"""No overbooking under real concurrency: 100 people, separate threads and connections,
all released at once at a 30-place session, through the HTTP booking endpoint."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import SessionFactory, UserFactory
from training.booking.models import Booking, BookingStatus
from training.booking.services import waiting_list_position
from training.extensions import db

ATTEMPTS = 100
CAPACITY = 30


def test_hundred_concurrent_bookings_confirm_exactly_capacity(app):
    session = SessionFactory(capacity=CAPACITY)
    people = UserFactory.create_batch(ATTEMPTS)
    clients = [login(app.test_client(), person) for person in people]
    url = f"/sessions/{session.id}/book"
    session_id = session.id
    db.session.commit()

    barrier = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(client):
        try:
            barrier.wait(timeout=60)
            response = client.post(url)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  (reported below, not swallowed)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert len(statuses) == ATTEMPTS
    assert all(code < 500 for code in statuses), statuses
    db.session.expire_all()
    bookings = db.session.scalars(
        select(Booking).where(Booking.session_id == session_id).order_by(Booking.id)
    ).all()
    confirmed = [b for b in bookings if b.status == BookingStatus.CONFIRMED]
    waiting = [b for b in bookings if b.status == BookingStatus.WAITLISTED]
    assert len(confirmed) == CAPACITY
    assert len(waiting) == ATTEMPTS - CAPACITY
    assert len(bookings) == ATTEMPTS
    # No one booked twice.
    assert len({b.user_id for b in bookings}) == ATTEMPTS
    # Arrival order: rows are written under the session lock, so ids follow arrival; the
    # first thirty arrivals hold the places and the rest queue behind them in order.
    assert max(b.id for b in confirmed) < min(b.id for b in waiting)
    assert [waiting_list_position(b) for b in waiting] == list(range(1, ATTEMPTS - CAPACITY + 1))
    assert [b.queued_at for b in waiting] == sorted(b.queued_at for b in waiting)
    places_taken = db.session.scalar(
        select(func.count()).select_from(Booking).where(Booking.session_id == session_id, Booking.holds_place)
    )
    assert places_taken == CAPACITY
