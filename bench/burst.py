"""The booking burst: 1,000 professionals try to book 10 sessions of 25 places, all arriving
within the first 2 seconds, against gunicorn with 4 workers on PostgreSQL. Exactly 250 must
be confirmed, everyone else waitlisted in arrival order per session, no 5xx, and the whole
burst done within 10 seconds. Same approach as tests/test_burst.py, ten times larger."""
from __future__ import annotations

import http.client
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench import serve

ROOT = Path(__file__).resolve().parent.parent
PEOPLE, SESSIONS, CAPACITY, WORKERS = 1000, 10, 25, 4
RAMP_SECONDS, BUDGET_SECONDS = 2.0, 10.0
CLIENT_TIMEOUT = 300  # long, so a slow server still gets its waiting lists checked


def run(url: str, secret: str, port: int) -> dict:
    """Build the burst's people and sessions in the (empty) database at `url`, fire, and check."""
    from training import create_app
    from training.accounts.models import Agency, Role, RoleGrant, Sector, User
    from training.booking.models import Booking, BookingStatus
    from training.booking.services import waiting_list_position
    from training.catalogue.models import Course, CourseFormat, CourseSession, Level
    from training.db import utcnow
    from training.extensions import db

    os.environ["DATABASE_URL"] = url
    os.environ["SECRET_KEY"] = secret
    app = create_app({"WTF_CSRF_ENABLED": False})
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        db.create_all()
        conn = db.session.connection()
        conn.execute(insert(Agency), [{"id": 1, "name": "Agency", "sector": list(Sector)[0], "created_at": now}])
        conn.execute(insert(User), [{"id": i, "email": f"burst{i}@bench.example", "name": f"Person {i}",
                                     "password_hash": "x", "agency_id": 1, "job_title": "Practitioner",
                                     "manager_name": "Manager", "manager_email": "manager@bench.example",
                                     "active": True, "created_at": now}
                                    for i in range(1, PEOPLE + 1)])
        conn.execute(insert(RoleGrant), [{"user_id": i, "role": Role.PROFESSIONAL, "granted_at": now}
                                         for i in range(1, PEOPLE + 1)])
        conn.execute(insert(Course), [{"id": 1, "title": "Burst course", "summary": "S", "learning_outcomes": "O",
                                       "level": list(Level)[0], "duration_minutes": 180,
                                       "format": list(CourseFormat)[0], "created_at": now}])
        start = now + timedelta(days=30)
        conn.execute(insert(CourseSession), [
            {"id": s, "course_id": 1, "starts_at": start, "ends_at": start + timedelta(hours=3), "venue": "Hall",
             "capacity": CAPACITY, "places_taken": 0, "booking_closes_at": start - timedelta(days=1),
             "created_at": now} for s in range(1, SESSIONS + 1)])
        db.session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = {i: "session=" + serializer.dumps({"_user_id": str(i), "_fresh": True})
                   for i in range(1, PEOPLE + 1)}
        engine = db.engine
    engine.dispose()

    # Person n books session n mod 10 (100 each), sending at an evenly spaced moment in the ramp.
    attempts = [(uid, 1 + uid % SESSIONS, (uid - 1) * RAMP_SECONDS / PEOPLE) for uid in range(1, PEOPLE + 1)]
    results: list[tuple[int, float, int | str, float]] = []  # (user, sent at, status, latency)
    lock = threading.Lock()
    with serve.gunicorn(url, secret, port, WORKERS):
        begun = time.perf_counter()

        def book(user_id: int, session_id: int, at: float) -> None:
            delay = begun + at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
                conn.request("POST", f"/sessions/{session_id}/book",
                             headers={"Cookie": cookies[user_id], "Content-Length": "0"})
                response = conn.getresponse()
                response.read()
                conn.close()
                status = response.status
            except TimeoutError:
                status = "timeout"
            except (OSError, http.client.HTTPException):
                status = "error"
            with lock:
                results.append((user_id, sent - begun, status, time.perf_counter() - sent))

        threads = [threading.Thread(target=book, args=a) for a in attempts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=CLIENT_TIMEOUT + 30)
        elapsed = time.perf_counter() - begun

    statuses = Counter(str(s) for _, _, s, _ in results)
    latencies = sorted(lat for *_, lat in results)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1) if latencies else 0.0

    problems: list[str] = []
    with app.app_context():
        bookings = db.session.scalars(select(Booking).order_by(Booking.id)).all()
        confirmed = sum(b.status == BookingStatus.CONFIRMED for b in bookings)
        if confirmed != SESSIONS * CAPACITY:
            problems.append(f"{confirmed} confirmed, not {SESSIONS * CAPACITY}")
        if len(bookings) != PEOPLE or len({b.user_id for b in bookings}) != PEOPLE:
            problems.append(f"{len(bookings)} bookings for {len({b.user_id for b in bookings})} people")
        inversions = 0
        sent_at = {uid: sent for uid, sent, _, _ in results}
        for session_id in range(1, SESSIONS + 1):
            mine = [b for b in bookings if b.session_id == session_id]
            ok = [b for b in mine if b.status == BookingStatus.CONFIRMED]
            waiting = [b for b in mine if b.status == BookingStatus.WAITLISTED]
            if len(ok) != CAPACITY or len(ok) + len(waiting) != len(mine):
                problems.append(f"session {session_id}: {len(ok)} confirmed, {len(waiting)} waiting of {len(mine)}")
            if ok and waiting and max(b.id for b in ok) > min(b.id for b in waiting):
                problems.append(f"session {session_id}: a waitlisted booking was written before a confirmed one")
            if [waiting_list_position(b) for b in waiting] != list(range(1, len(waiting) + 1)):
                problems.append(f"session {session_id}: waiting-list positions are not 1..{len(waiting)}")
            if [b.queued_at for b in waiting] != sorted(b.queued_at for b in waiting):
                problems.append(f"session {session_id}: waiting list is not in arrival order")
            # Against the order the clients sent in: requests sent closer together than the
            # server's latency may legitimately swap, so this is reported, not judged.
            order = [sent_at.get(b.user_id, 0.0) for b in mine]
            inversions += sum(1 for a, b in zip(order, order[1:], strict=False) if b < a)
        places = db.session.scalars(select(CourseSession.places_taken)).all()
        if any(p != CAPACITY for p in places):
            problems.append(f"places_taken {sorted(set(places))}, not all {CAPACITY}")
        engine = db.engine
    engine.dispose()
    five = sum(v for k, v in statuses.items() if not k.isdigit() or k.startswith("5"))
    if five:
        problems.append(f"{five} responses were 5xx or failed")
    if len(results) != PEOPLE:
        problems.append(f"{len(results)} of {PEOPLE} requests finished")
    if elapsed > BUDGET_SECONDS:
        problems.append(f"took {elapsed:.1f} s (budget {BUDGET_SECONDS:.0f} s)")
    return {"people": PEOPLE, "sessions": SESSIONS, "capacity": CAPACITY, "workers": WORKERS,
            "ramp_seconds": RAMP_SECONDS, "seconds": round(elapsed, 2), "confirmed": confirmed,
            "statuses": dict(statuses), "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "order_swaps_vs_client_send": inversions, "problems": problems}


def lines(result: dict) -> list[str]:
    """The burst's PASS/FAIL line and figures."""
    verdict = "PASS" if not result["problems"] else "FAIL"
    out = [f"{verdict} burst: {result['people']} people, {result['sessions']} sessions of {result['capacity']}, "
           f"{result['workers']} workers, sent over {result['ramp_seconds']} s, done in {result['seconds']} s "
           f"(budget {BUDGET_SECONDS:.0f} s); {result['confirmed']} confirmed; statuses {result['statuses']}; "
           f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms; "
           f"{result['order_swaps_vs_client_send']} adjacent pairs written in a different order from sending"]
    out += [f"     {p}" for p in result["problems"]]
    return out
