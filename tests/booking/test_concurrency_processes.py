"""No overbooking across worker processes, as with several gunicorn workers: each process has
its own engine and connection pool, so only the database's locking can keep them in step."""
from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import select

from tests.factories import SessionFactory, UserFactory
from training.booking.models import Booking, BookingStatus
from training.extensions import db

PROCESSES = 4
THREADS = 5
PER_PROCESS = 25
CAPACITY = 30


def _worker(url: str, session_id: int, user_ids: list[int], start, results) -> None:
    """One 'gunicorn worker': a fresh app and engine, several threads booking at once."""
    from training import create_app
    from training.accounts.models import User
    from training.booking.services import book_place

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS, "max_overflow": 0}})
    outcomes: list[str] = []
    lock = threading.Lock()
    chunks = [user_ids[i::THREADS] for i in range(THREADS)]

    def run(chunk: list[int]) -> None:
        with app.app_context():
            for user_id in chunk:
                try:
                    booking = book_place(session_id, db.session.get(User, user_id))
                    outcome = booking.status.value
                except Exception as exc:  # noqa: BLE001  (reported to the test, which fails on it)
                    outcome = f"error: {exc!r}"
                with lock:
                    outcomes.append(outcome)
            db.session.remove()

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    start.wait(timeout=60)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    results.put(outcomes)


def test_worker_processes_booking_at_once_never_overbook(app):
    session_id = SessionFactory(capacity=CAPACITY).id
    user_ids = [u.id for u in UserFactory.create_batch(PROCESSES * PER_PROCESS)]
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    context = multiprocessing.get_context("spawn")  # no inherited connections or locks
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(url, session_id, user_ids[i::PROCESSES], start, results))
        for i in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    outcomes = [o for _ in workers for o in results.get(timeout=180)]
    for w in workers:
        w.join(timeout=30)

    assert [o for o in outcomes if o.startswith("error")] == []
    assert len(outcomes) == PROCESSES * PER_PROCESS
    db.session.expire_all()
    bookings = db.session.scalars(select(Booking).where(Booking.session_id == session_id)).all()
    statuses = [b.status for b in bookings]
    assert statuses.count(BookingStatus.CONFIRMED) == CAPACITY
    assert statuses.count(BookingStatus.WAITLISTED) == PROCESSES * PER_PROCESS - CAPACITY
    confirmed_ids = [b.id for b in bookings if b.status == BookingStatus.CONFIRMED]
    waiting_ids = [b.id for b in bookings if b.status == BookingStatus.WAITLISTED]
    assert max(confirmed_ids) < min(waiting_ids)
    assert len({b.user_id for b in bookings}) == len(bookings)
