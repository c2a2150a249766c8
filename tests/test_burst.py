"""A burst of bookings through real gunicorn workers: 200 people book 3 sessions of 25 places
at once over HTTP. Each worker is its own process with its own engine, as in production, so
only the database's locking keeps the places right."""
from __future__ import annotations

import http.client
import threading
import time
from collections import Counter

from sqlalchemy import select

from bench import serve
from bench.serve import free_port
from tests.factories import AgencyFactory, SessionFactory, UserFactory
from training.booking.models import Booking, BookingStatus
from training.booking.services import waiting_list_position
from training.extensions import db

SECRET = "burst-test-secret-key-not-for-production-0123456789"
WORKERS = 4
SESSIONS = 3
CAPACITY = 25
PEOPLE = 200


def _cookies(app, user_ids: list[int]) -> dict[int, str]:
    """Session cookies signed with SECRET, exactly as the workers' Flask will check them."""
    original = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = SECRET
    try:
        serializer = app.session_interface.get_signing_serializer(app)
        return {uid: "session=" + serializer.dumps({"_user_id": str(uid), "_fresh": True}) for uid in user_ids}
    finally:
        app.config["SECRET_KEY"] = original


def test_burst_of_bookings_through_gunicorn_workers(app, tmp_path):
    agency = AgencyFactory()
    session_ids = [SessionFactory(capacity=CAPACITY).id for _ in range(SESSIONS)]
    user_ids = [u.id for u in UserFactory.create_batch(PEOPLE, agency=agency)]
    db.session.commit()
    cookies = _cookies(app, user_ids)
    # Person n books session n mod 3: 67, 67 and 66 people for the three sessions.
    attempts = [(uid, session_ids[n % SESSIONS]) for n, uid in enumerate(user_ids)]

    port = free_port()
    log = tmp_path / "gunicorn.log"
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with log.open("w") as out, serve.gunicorn(url, SECRET, port, WORKERS, log=out):
        # Behind a proxy on loopback (trusted by default), an HTTPS request gets HSTS.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
        health = conn.getresponse()
        health.read()
        conn.close()
        assert health.status == 200
        assert health.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
        assert health.getheader("Set-Cookie") is None

        barrier = threading.Barrier(PEOPLE)
        results: list[tuple[int, float]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def book(user_id: int, session_id: int) -> None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                barrier.wait(timeout=30)
                started = time.perf_counter()
                conn.request("POST", f"/sessions/{session_id}/book",
                             headers={"Cookie": cookies[user_id], "Content-Length": "0"})
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                conn.close()
                with lock:
                    results.append((response.status, elapsed))
            except BaseException as exc:  # noqa: BLE001  (reported below, not swallowed)
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=book, args=a) for a in attempts]
        burst_started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        burst_seconds = time.perf_counter() - burst_started

    assert errors == []
    assert len(results) == PEOPLE
    statuses = Counter(status for status, _ in results)
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses == {302: PEOPLE}, statuses  # each booking redirects to the booking's page
    latencies = sorted(elapsed for _, elapsed in results)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"\nburst on {db.engine.dialect.name}: {PEOPLE} bookings through {WORKERS} gunicorn workers "
          f"in {burst_seconds:.2f} s; p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    assert burst_seconds < 30

    db.session.expire_all()
    bookings = db.session.scalars(select(Booking).order_by(Booking.id)).all()
    assert len(bookings) == PEOPLE
    # No one booked twice, and everyone is booked on the session they asked for.
    assert len({b.user_id for b in bookings}) == PEOPLE
    assert {(b.user_id, b.session_id) for b in bookings} == set(attempts)
    for session_id in session_ids:
        mine = [b for b in bookings if b.session_id == session_id]
        confirmed = [b for b in mine if b.status == BookingStatus.CONFIRMED]
        waiting = [b for b in mine if b.status == BookingStatus.WAITLISTED]
        asked = sum(1 for _, s in attempts if s == session_id)
        assert len(confirmed) == CAPACITY
        assert len(waiting) == asked - CAPACITY
        # The waiting list follows booking order: places went to the first arrivals, and
        # everyone else queues behind them in the order their bookings were written.
        assert max(b.id for b in confirmed) < min(b.id for b in waiting)
        assert [waiting_list_position(b) for b in waiting] == list(range(1, len(waiting) + 1))
        assert [b.queued_at for b in waiting] == sorted(b.queued_at for b in waiting)
    assert sum(b.status == BookingStatus.CONFIRMED for b in bookings) == SESSIONS * CAPACITY
