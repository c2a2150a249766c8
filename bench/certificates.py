"""`python -m bench.certificates`: how fast certificates render.

In a temporary SQLite database it builds one session with 670 attendees, then times:
- the bulk PDF for that session (median of 3), against WeasyPrint rendering 670 plain
  one-line pages as one document in the same run -- the ratio is the cost of the
  certificate's own layout (target: at most 2x);
- one person's certificate downloaded through the Flask test client (median of 20;
  target: under 300 ms).
Prints a table and writes JSON to bench/results/certificates-<date>.json.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import insert

from training import create_app
from training.accounts.models import Agency, Role, RoleGrant, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, session_trainers
from training.certificates import services
from training.db import utcnow
from training.extensions import db

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BULK_TARGET_RATIO = 2.0
SINGLE_TARGET_MS = 300.0


def _build(attendees: int) -> dict:
    """One past session with `attendees` people marked attended, and a coordinator."""
    now = utcnow().replace(microsecond=0)
    conn = db.session.connection()
    conn.execute(insert(Agency), [{"id": 1, "name": "Riverside Health", "sector": Sector.HEALTH,
                                   "active": True, "created_at": now}])
    people = attendees + 2  # plus a trainer and a coordinator
    conn.execute(insert(User), [
        {"id": i, "email": f"person{i}@bench.example", "name": f"Person Number {i}", "password_hash": "x",
         "agency_id": 1, "job_title": "Practitioner", "manager_name": "Manager",
         "manager_email": "manager@bench.example", "consent_updates": False, "active": True, "created_at": now}
        for i in range(1, people + 1)])
    trainer, coordinator = people - 1, people
    conn.execute(insert(RoleGrant), [
        {"user_id": trainer, "role": Role.TRAINER, "granted_at": now},
        {"user_id": coordinator, "role": Role.COORDINATOR, "granted_at": now},
    ])
    conn.execute(insert(Course), [{
        "id": 1, "title": "Recognising and responding to neglect", "summary": "Summary",
        "learning_outcomes": "Recognise the signs of neglect\nUse the neglect toolkit\nKnow how to make a referral",
        "level": Level.LEVEL_2, "duration_minutes": 180, "format": CourseFormat.FACE_TO_FACE,
        "refresher_months": 36, "active": True, "created_at": now}])
    starts = now - timedelta(days=2)
    conn.execute(insert(CourseSession), [{
        "id": 1, "course_id": 1, "starts_at": starts, "ends_at": starts + timedelta(hours=3),
        "venue": "Civic Centre", "capacity": attendees, "places_taken": attendees,
        "booking_closes_at": starts - timedelta(days=1), "status": "scheduled", "created_at": now}])
    conn.execute(insert(session_trainers), [{"session_id": 1, "user_id": trainer}])
    conn.execute(insert(Booking), [
        {"id": i, "session_id": 1, "user_id": i, "status": BookingStatus.CONFIRMED, "queued_at": now,
         "created_at": now, "status_changed_at": now, "confirmed_at": now, "overbooked": False}
        for i in range(1, attendees + 1)])
    conn.execute(insert(Attendance), [
        {"id": i, "session_id": 1, "booking_id": i, "user_id": i, "attendee_name": f"Person Number {i}",
         "attendee_email": f"person{i}@bench.example", "agency_id": 1, "outcome": AttendanceOutcome.ATTENDED,
         "walk_in": False, "recorded_at": now}
        for i in range(1, attendees + 1)])
    db.session.commit()
    return {"session_id": 1, "person_id": 1, "booking_id": 1, "coordinator_id": coordinator}


def _median_seconds(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _plain_pages(count: int) -> str:
    pages = "".join(
        f'<p style="break-before: page">Page {i}</p>' if i else f"<p>Page {i}</p>" for i in range(count)
    )
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><style>@page { size: A4 landscape }"
            f' html {{ font-family: "Liberation Sans", Arial, sans-serif }}</style></head><body>{pages}</body></html>')


def run(attendees: int, bulk_runs: int, single_runs: int) -> dict:
    """Build the data, time the renders, and return the report."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
            "WTF_CSRF_ENABLED": False,
            "CERTIFICATE_REQUIRES_EVALUATION": False,
            "SERVER_NAME": "localhost",
        })
        with app.app_context():
            db.create_all()
            ids = _build(attendees)
            coordinator = db.session.get(User, ids["coordinator_id"])

            def bulk() -> bytes:
                with app.test_request_context():
                    return services.session_certificates_pdf(
                        ids["session_id"], coordinator, "https://localhost/verify").content

            plain_html = _plain_pages(attendees)
            content = bulk()  # issues the codes, so every timed run does the same work
            # Interleaved, so load from anything else on the machine hits both alike.
            bulk_times, plain_times = [], []
            for _ in range(bulk_runs):
                bulk_times.append(_median_seconds(bulk, 1)[0])
                plain_times.append(_median_seconds(lambda: services.render_pdf(plain_html), 1)[0])
            bulk_s, plain_s = statistics.median(bulk_times), statistics.median(plain_times)
            pages = len(PdfReader(io.BytesIO(content)).pages)
            db.session.remove()

        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = str(ids["person_id"])
            sess["_fresh"] = True
        # The bulk run above issued every code, so this POST issues nothing new; downloads only read.
        assert client.post(f"/bookings/{ids['booking_id']}/certificate").status_code == 302
        url = f"/bookings/{ids['booking_id']}/certificate.pdf"
        first = client.get(url)
        assert first.status_code == 200 and first.mimetype == "application/pdf", first.status
        single_s, response = _median_seconds(lambda: client.get(url), single_runs)
        assert response.status_code == 200
        with app.app_context():
            engine = db.engine.dialect.name
            db.engine.dispose()

    ratio = bulk_s / plain_s
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": engine,
        "attendees": attendees,
        "bulk_pages": pages,
        "bulk_median_s": round(bulk_s, 3),
        "plain_pages_median_s": round(plain_s, 3),
        "bulk_to_plain_ratio": round(ratio, 2),
        "bulk_ratio_target": BULK_TARGET_RATIO,
        "bulk_ratio_met": ratio <= BULK_TARGET_RATIO,
        "single_download_median_ms": round(single_s * 1000, 1),
        "single_target_ms": SINGLE_TARGET_MS,
        "single_target_met": single_s * 1000 < SINGLE_TARGET_MS,
        "bulk_runs": bulk_runs,
        "single_runs": single_runs,
    }


def _print(report: dict) -> None:
    rows = [
        ("Bulk PDF, %d certificates (median of %d)" % (report["attendees"], report["bulk_runs"]),
         f"{report['bulk_median_s']:.2f} s", f"{report['bulk_pages']} pages"),
        ("%d plain one-line pages, one document" % report["attendees"], f"{report['plain_pages_median_s']:.2f} s", ""),
        ("Bulk / plain ratio", f"{report['bulk_to_plain_ratio']:.2f}x",
         ("OK" if report["bulk_ratio_met"] else "OVER") + f" (target <= {report['bulk_ratio_target']}x)"),
        ("One certificate download (median of %d)" % report["single_runs"], f"{report['single_download_median_ms']:.0f} ms",
         ("OK" if report["single_target_met"] else "OVER") + f" (target < {report['single_target_ms']:.0f} ms)"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=670)
    parser.add_argument("--bulk-runs", type=int, default=3)
    parser.add_argument("--single-runs", type=int, default=20)
    args = parser.parse_args()
    report = run(args.attendees, args.bulk_runs, args.single_runs)
    _print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"certificates-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
