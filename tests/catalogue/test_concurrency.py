"""Lowering a session's capacity while people are booking it never leaves more confirmed places
than the capacity: the edit locks the session row before checking places taken."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.catalogue.helpers import future_day
from tests.catalogue.test_manage_pages import session_form
from tests.conftest import login
from tests.factories import BookingFactory, CoordinatorFactory, SessionFactory, UserFactory
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import CourseSession
from training.extensions import db

BOOKERS = 20


def test_capacity_cut_racing_bookings_keeps_confirmed_within_capacity(app):
    session = SessionFactory(capacity=10)
    for _ in range(5):
        BookingFactory(session=session)
    session_id = session.id
    coordinator = CoordinatorFactory()
    people = UserFactory.create_batch(BOOKERS)
    booker_clients = [login(app.test_client(), person) for person in people]
    manager = login(app.test_client(), coordinator)
    db.session.commit()

    barrier = threading.Barrier(BOOKERS + 1)
    codes: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=60)
            response = call()
            with lock:
                codes.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            with lock:
                errors.append(exc)

    calls = [lambda c=c: c.post(f"/sessions/{session_id}/book") for c in booker_clients]
    calls.append(lambda: manager.post(f"/manage/sessions/{session_id}/edit",
                                      data=session_form(future_day(30), capacity="6")))
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert len(codes) == BOOKERS + 1 and all(code < 500 for code in codes), codes
    db.session.expire_all()
    final = db.session.get(CourseSession, session_id)
    confirmed = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED))
    holding = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.session_id == session_id, Booking.holds_place))
    assert final.capacity in (6, 10)
    assert confirmed <= final.capacity
    assert final.places_taken == holding
    # Either the cut won the race (6 places, the rest waiting) or it was refused (10 places, all taken).
    assert confirmed == final.capacity
