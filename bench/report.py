"""`python -m bench.report`: how fast the subgroup summary renders over a large dataset.

The issue's budget: over 100,000 bookings and 60,000 evaluations, the summary renders as
HTML with a constant number of queries and within 500 ms, on SQLite and on PostgreSQL.

For each database (SQLite in a temporary file; PostgreSQL in a database `bench_report` made
next to BENCH_DATABASE_URL or TEST_DATABASE_URL, when either is set) it:

1. builds a synthetic partnership with bulk Core inserts: ten complete financial years,
   about 6,000 people in 60 agencies, 40 courses (some run as workshops), about 4,000
   sessions (a few cancelled), exactly 100,000 bookings in every status, registers with
   attended / partial / did-not-attend and walk-ins, exactly 60,000 submitted evaluations
   (before, after and follow-up) answering the real question sets' 'overall', 'knowledge',
   'confidence' and 'comments' (and the follow-up's 'impact' and example), a few drafts, and
   quality reviews, some open. Later years are busier, as a growing programme is;
2. times GET /reports/summary as the coordinator through the Flask test client, after
   warm-up, for (a) the busiest financial year and (b) the whole ten years, and reports
   p50 / p95 / max, the SQL statements per request, and the slowest statements;
3. checks the query count is the same for a one-month period (constant, whatever the size).

PostgreSQL is ANALYZEd after the load, as autovacuum would do on a live service; SQLite is
left as the app leaves it (no ANALYZE). Prints a table with PASS/FAIL lines against the
500 ms budget, and writes JSON to bench/results/<timestamp>-report.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

from training import create_app
from training.accounts.models import Agency, Role, RoleGrant, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome, Register
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import (
    Course,
    CourseFormat,
    CourseSession,
    CourseTheme,
    Level,
    SessionKind,
    SessionStatus,
    Theme,
    session_trainers,
)
from training.db import utcnow, write_transaction
from training.evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OverallRating,
    QualityReview,
    ReviewStatus,
    Stage,
)
from training.evaluation.results import Period, financial_year
from training.evaluation.services import current_question_set
from training.extensions import db
from training.timeutil import london_to_utc, to_london

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BUDGET_MS = 500.0
PG_DATABASE = "bench_report"

YEARS = 10
AGENCIES = 60
PEOPLE = 6000
COURSES = 40
BOOKINGS = 100_000
SUBMITTED = {Stage.AFTER: 40_000, Stage.BEFORE: 17_000, Stage.FOLLOW_UP: 3_000}  # 60,000 in all
DRAFTS = 1_000
REVIEWS = 40
CHUNK = 5_000


# ---------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------

def _chunks(rows: list[dict]):
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _insert(conn, table, rows: list[dict]) -> None:
    target = table if hasattr(table, "c") else table.__table__
    for chunk in _chunks(rows):
        conn.execute(insert(target), chunk)


def _weekday(rng: random.Random, period: Period) -> date:
    span = (period.last - period.first).days
    while True:
        day = period.first + timedelta(days=rng.randint(0, span))
        if day.weekday() < 5:
            return day


def build(seed: int = 20) -> dict:
    """Fill an empty schema with the benchmark's partnership; returns ids and sizes."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    first_year = financial_year(now.date()).first.year - YEARS  # ten complete financial years
    years = [financial_year(date(first_year + i, 4, 1)) for i in range(YEARS)]

    with write_transaction():
        question_ids = {stage: {q.key: q.id for q in current_question_set(stage).questions} for stage in Stage}
        set_ids = {stage: current_question_set(stage).id for stage in Stage}
    conn = db.session.connection()

    sectors = list(Sector)
    _insert(conn, Agency, [{"id": a, "name": f"Agency {a:02d}", "sector": sectors[a % len(sectors)], "active": True,
                            "created_at": now} for a in range(1, AGENCIES + 1)])
    # Agencies differ in size, as they do: a few large ones, many small.
    agency_weights = [1 / (a ** 0.7) for a in range(1, AGENCIES + 1)]
    people_agency = {p: rng.choices(range(1, AGENCIES + 1), agency_weights)[0] for p in range(1, PEOPLE + 1)}
    _insert(conn, User, [
        {"id": p, "email": f"person{p}@bench.example", "name": f"Person {p}", "password_hash": "!bench",
         "agency_id": people_agency[p], "job_title": "Practitioner", "manager_name": "Manager",
         "manager_email": "manager@bench.example", "consent_updates": False, "consent_updated_at": None,
         "active": True, "created_at": now} for p in range(1, PEOPLE + 1)])
    trainers = list(range(1, 16))
    coordinator = PEOPLE
    grants = [{"user_id": p, "role": Role.PROFESSIONAL, "granted_at": now, "granted_by_id": None}
              for p in range(1, PEOPLE + 1)]
    grants += [{"user_id": t, "role": Role.TRAINER, "granted_at": now, "granted_by_id": None} for t in trainers]
    grants.append({"user_id": coordinator, "role": Role.COORDINATOR, "granted_at": now, "granted_by_id": None})
    _insert(conn, RoleGrant, grants)

    formats = [CourseFormat.FACE_TO_FACE, CourseFormat.VIRTUAL, CourseFormat.FACE_TO_FACE, CourseFormat.E_LEARNING,
               CourseFormat.FACE_TO_FACE, CourseFormat.VIRTUAL, CourseFormat.FACE_TO_FACE, CourseFormat.WORKSHOP]
    levels, themes = list(Level), list(Theme)
    course_format = {c: formats[c % len(formats)] for c in range(1, COURSES + 1)}
    course_minutes = {c: (360 if c % 3 == 0 else 180) for c in range(1, COURSES + 1)}
    _insert(conn, Course, [
        {"id": c, "title": f"Course {c:02d}: safeguarding practice", "summary": "Summary",
         "learning_outcomes": "One\nTwo\nThree", "level": levels[c % len(levels)],
         "duration_minutes": course_minutes[c], "format": course_format[c], "refresher_months": 36, "active": True,
         "created_at": now} for c in range(1, COURSES + 1)])
    _insert(conn, CourseTheme, [{"course_id": c, "theme": themes[c % len(themes)]} for c in range(1, COURSES + 1)])

    course_weights = [1 / (c ** 0.5) for c in range(1, COURSES + 1)]
    year_weights = [1 + 0.12 * i for i in range(YEARS)]  # a growing programme: later years busier
    sessions, links, registers, bookings, attendances = [], [], [], [], []
    present_booked: list[tuple[int, int, datetime]] = []  # (booking id, session id, ends at)
    confirmed: list[tuple[int, int, datetime]] = []
    booking_id = attendance_id = 0
    session_id = 0
    while len(bookings) < BOOKINGS:
        session_id += 1
        year = years[rng.choices(range(YEARS), year_weights)[0]]
        course = rng.choices(range(1, COURSES + 1), course_weights)[0]
        day = _weekday(rng, year)
        starts = london_to_utc(day, rng.choice((clock(9, 30), clock(13, 0))) if course_minutes[course] == 180
                               else clock(9, 30))
        ends = starts + timedelta(minutes=course_minutes[course])
        capacity = rng.choice((20, 25, 30, 40))
        cancelled = rng.random() < 0.03
        sessions.append({
            "id": session_id, "course_id": course, "starts_at": starts, "ends_at": ends,
            "venue": None if course_format[course] in (CourseFormat.VIRTUAL, CourseFormat.E_LEARNING)
            else "Civic Centre",
            "online_link": "https://meet.bench.example/s" if course_format[course] is CourseFormat.VIRTUAL else None,
            "capacity": capacity, "places_taken": 0, "booking_closes_at": starts - timedelta(days=1),
            "status": SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED,
            "kind": SessionKind.WORKSHOP if course_format[course] is CourseFormat.WORKSHOP else SessionKind.TRAINING,
            "cancelled_at": starts - timedelta(days=5) if cancelled else None,
            "cancellation_reason": "Trainer unwell" if cancelled else None,
            "created_at": starts - timedelta(days=90)})
        links.append({"session_id": session_id, "user_id": trainers[session_id % len(trainers)]})
        if not cancelled:
            registers.append({"session_id": session_id, "completed_at": ends + timedelta(hours=1),
                              "completed_by_id": trainers[session_id % len(trainers)]})
        wanted = min(BOOKINGS - len(bookings), int(capacity * rng.uniform(0.55, 1.35)))
        for position, person in enumerate(rng.sample(range(1, PEOPLE), wanted)):
            booking_id += 1
            booked_at = starts - timedelta(days=rng.randint(3, 80), minutes=rng.randint(0, 600))
            if cancelled:
                status = BookingStatus.SESSION_CANCELLED
            elif position < capacity:
                status = rng.choices(
                    (BookingStatus.CONFIRMED, BookingStatus.LATE_CANCELLED, BookingStatus.CANCELLED,
                     BookingStatus.TRANSFERRED, BookingStatus.MOVED), (86, 5, 7, 1, 1))[0]
            else:
                status = rng.choices((BookingStatus.WAITLISTED, BookingStatus.WITHDRAWN, BookingStatus.EXPIRED),
                                     (60, 20, 20))[0]
            bookings.append({
                "id": booking_id, "session_id": session_id, "user_id": person, "status": status,
                "queued_at": booked_at, "created_at": booked_at, "created_by_id": person,
                "status_changed_at": booked_at, "confirmed_at": booked_at if position < capacity else None,
                "offered_at": None, "offer_expires_at": None, "overbooked": False, "previous_booking_id": None,
                "note": None})
            if status is BookingStatus.CONFIRMED:
                confirmed.append((booking_id, session_id, ends))
                attendance_id += 1
                outcome = rng.choices((AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL,
                                       AttendanceOutcome.DID_NOT_ATTEND), (86, 4, 10))[0]
                attendances.append({
                    "id": attendance_id, "session_id": session_id, "booking_id": booking_id, "user_id": person,
                    "attendee_name": f"Person {person}", "attendee_email": f"person{person}@bench.example",
                    "agency_id": people_agency[person], "outcome": outcome, "walk_in": False,
                    "recorded_by_id": trainers[session_id % len(trainers)], "recorded_at": ends})
                if outcome is not AttendanceOutcome.DID_NOT_ATTEND:
                    present_booked.append((booking_id, session_id, ends))
        if not cancelled:
            for _ in range(rng.choice((0, 0, 0, 1, 2))):  # walk-ins without an account
                attendance_id += 1
                attendances.append({
                    "id": attendance_id, "session_id": session_id, "booking_id": None, "user_id": None,
                    "attendee_name": f"Walk-in {attendance_id}",
                    "attendee_email": f"walkin{attendance_id}@bench.example" if rng.random() < 0.7 else None,
                    "agency_id": rng.randint(1, AGENCIES), "outcome": AttendanceOutcome.ATTENDED, "walk_in": True,
                    "recorded_by_id": trainers[session_id % len(trainers)], "recorded_at": ends})

    _insert(conn, CourseSession, sessions)
    _insert(conn, session_trainers, links)
    _insert(conn, Register, registers)
    _insert(conn, Booking, bookings)
    _insert(conn, Attendance, attendances)

    # Evaluations: after-course forms from people present, before-course forms from people
    # booked, follow-ups from some who filled in the after-course form; a few drafts.
    evaluations, answers = [], []
    evaluation_id = answer_id = 0

    def evaluation(booking: int, session: int, stage: Stage, at: datetime, submitted: bool) -> int:
        nonlocal evaluation_id
        evaluation_id += 1
        evaluations.append({
            "id": evaluation_id, "booking_id": booking, "session_id": session, "stage": stage,
            "question_set_id": set_ids[stage],
            "status": EvaluationStatus.SUBMITTED if submitted else EvaluationStatus.DRAFT,
            "created_at": at, "updated_at": at, "submitted_at": at if submitted else None})
        return evaluation_id

    def answer(evaluation_id_: int, stage: Stage, key: str, *, rating=None, choice=None, text_=None,
               quotable=False) -> None:
        nonlocal answer_id
        answer_id += 1
        answers.append({"id": answer_id, "evaluation_id": evaluation_id_, "question_id": question_ids[stage][key],
                        "outcome_index": 0, "outcome_text": None, "rating": rating, "choice": choice,
                        "text": text_, "quotable": quotable})

    ratings = [r.value for r in OverallRating]
    after = rng.sample(present_booked, min(SUBMITTED[Stage.AFTER] + DRAFTS, len(present_booked)))
    for n, (booking, session, ends) in enumerate(after):
        submitted = n >= DRAFTS
        e = evaluation(booking, session, Stage.AFTER, ends + timedelta(hours=rng.randint(1, 200)), submitted)
        answer(e, Stage.AFTER, "knowledge", rating=rng.choices((2, 3, 4, 5), (5, 20, 45, 30))[0])
        answer(e, Stage.AFTER, "confidence", rating=rng.choices((2, 3, 4, 5), (5, 25, 45, 25))[0])
        answer(e, Stage.AFTER, "overall", choice=rng.choices(ratings, (45, 40, 12, 3))[0])
        if rng.random() < 0.25:
            answer(e, Stage.AFTER, "comments", text_=f"Useful course, comment {e}", quotable=rng.random() < 0.02)
    after_submitted = after[DRAFTS:]
    for booking, session, ends in rng.sample(confirmed, min(SUBMITTED[Stage.BEFORE], len(confirmed))):
        e = evaluation(booking, session, Stage.BEFORE, ends - timedelta(days=rng.randint(2, 30)), True)
        answer(e, Stage.BEFORE, "knowledge", rating=rng.choices((1, 2, 3, 4), (10, 35, 40, 15))[0])
        answer(e, Stage.BEFORE, "confidence", rating=rng.choices((1, 2, 3, 4), (10, 35, 40, 15))[0])
    for booking, session, ends in rng.sample(after_submitted, min(SUBMITTED[Stage.FOLLOW_UP], len(after_submitted))):
        e = evaluation(booking, session, Stage.FOLLOW_UP, ends + timedelta(weeks=7), True)
        answer(e, Stage.FOLLOW_UP, "impact", rating=rng.choice((3, 4, 5)))
        answer(e, Stage.FOLLOW_UP, "impact_example", text_=f"I refer sooner, example {e}",
               quotable=rng.random() < 0.02)
    _insert(conn, Evaluation, evaluations)
    _insert(conn, Answer, answers)

    reviews = []
    for r in range(1, REVIEWS + 1):
        session = rng.randint(1, session_id)
        status = ReviewStatus.OPEN if r % 4 == 0 else ReviewStatus.ACTIONS_AGREED if r % 4 == 1 else ReviewStatus.CLOSED
        reviews.append({
            "id": r, "course_id": sessions[session - 1]["course_id"], "session_id": session, "status": status,
            "automatic": r % 2 == 0, "reason": "More than 25% of overall ratings were Satisfactory or Poor",
            "raised_by_id": None if r % 2 == 0 else coordinator, "created_at": sessions[session - 1]["ends_at"],
            "findings": None, "improvements": None, "actions_agreed_at": None, "trainer_response": None,
            "trainer_responded_at": None, "trainer_responded_by_id": None,
            "closed_at": now if status is ReviewStatus.CLOSED else None})
    _insert(conn, QualityReview, reviews)
    db.session.commit()

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))

    submitted = db.session.scalar(select(func.count(Evaluation.id)).where(
        Evaluation.status == EvaluationStatus.SUBMITTED))
    # The busiest year by bookings, as the data fell (later years are likelier, not certain).
    per_year: Counter = Counter()
    by_session = Counter(b["session_id"] for b in bookings)
    for row in sessions:
        per_year[financial_year(to_london(row["starts_at"]).date()).first.year] += by_session[row["id"]]
    busiest = max(per_year, key=lambda y: (per_year[y], y))
    return {
        "coordinator_id": coordinator,
        "years": [y.first.isoformat() for y in years],
        "busiest_year": financial_year(date(busiest, 4, 1)),
        "ten_years": Period(years[0].first, years[-1].last),
        "busiest_year_bookings": per_year[busiest],
        "sizes": {"agencies": AGENCIES, "people": PEOPLE, "courses": COURSES, "sessions": len(sessions),
                  "cancelled_sessions": sum(1 for s in sessions if s["status"] is SessionStatus.CANCELLED),
                  "bookings": len(bookings), "attendances": len(attendances),
                  "evaluations_submitted": submitted, "evaluation_drafts": DRAFTS, "answers": len(answers),
                  "quality_reviews": len(reviews)},
    }


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

class StatementLog:
    """Every SQL statement sent while active, with its time."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.active = False
        self.times: list[tuple[str, float]] = []
        self._started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, cursor, *_args) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, _conn, cursor, statement, *_args) -> None:
        started = self._started.pop(id(cursor), None)
        if self.active and started is not None:
            self.times.append((statement, time.perf_counter() - started))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def _time_page(client, log: StatementLog, period: Period, requests: int, warmup: int) -> dict:
    path = f"/reports/summary?from={period.first.isoformat()}&to={period.last.isoformat()}"
    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            return {"path": path, "error": f"HTTP {response.status_code}"}
    durations, cpu, counts = [], [], []
    per_statement: dict[str, list[float]] = defaultdict(list)
    for _ in range(requests):
        log.times = []
        log.active = True
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = client.get(path)
        elapsed, cpu_elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
        log.active = False
        assert response.status_code == 200, response.status_code
        assert b"Subgroup summary" in response.data
        durations.append(elapsed * 1000)
        cpu.append(cpu_elapsed * 1000)
        counts.append(len(log.times))
        for statement, seconds in log.times:
            per_statement[statement].append(seconds * 1000)
    slowest = sorted(((statistics.median(ms), statement) for statement, ms in per_statement.items()), reverse=True)
    sql_ms = sum(statistics.median(ms) for ms in per_statement.values())
    return {
        "path": path,
        "requests": requests,
        "p50_ms": round(statistics.median(durations), 1),
        "p95_ms": round(_percentile(durations, 0.95), 1),
        "max_ms": round(max(durations), 1),
        # CPU time of this process (the app, and SQLite's work; not PostgreSQL's server):
        # steadier than wall time when other work shares the machine.
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "queries": sorted(set(counts)),
        "sql_median_ms": round(sql_ms, 1),
        "slowest_statements": [{"median_ms": round(ms, 1), "sql": " ".join(statement.split())[:400]}
                               for ms, statement in slowest[:5]],
    }


def _queries_for(client, log: StatementLog, period: Period) -> int | str:
    path = f"/reports/summary?from={period.first.isoformat()}&to={period.last.isoformat()}"
    log.times = []
    log.active = True
    response = client.get(path)
    log.active = False
    return len(log.times) if response.status_code == 200 else f"HTTP {response.status_code}"


def _prepare_database(engine_name: str, tmp: str) -> str:
    if engine_name == "sqlite":
        return f"sqlite:///{tmp}/bench-report.sqlite"
    base = make_url(os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return base.set(database=PG_DATABASE).render_as_string(hide_password=False)


def run_engine(engine_name: str, requests: int, warmup: int) -> dict:
    """Build the dataset on one database and time the summary page on it."""
    with tempfile.TemporaryDirectory() as tmp:
        url = _prepare_database(engine_name, tmp)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            data = build()
            build_seconds = round(time.perf_counter() - started, 1)
            engine = db.engine
            db.session.remove()

        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = str(data["coordinator_id"])
            sess["_fresh"] = True
        log = StatementLog(engine)
        load_before = os.getloadavg()
        try:
            busiest = _time_page(client, log, data["busiest_year"], requests, warmup)
            ten_years = _time_page(client, log, data["ten_years"], requests, warmup)
            month = data["busiest_year"].first
            one_month = _queries_for(client, log, Period(month, month.replace(day=30)))
            empty = _queries_for(client, log, Period(date(1990, 4, 1), date(1991, 3, 31)))
        finally:
            log.close()
            with app.app_context():
                db.engine.dispose()
    busiest_year = data.pop("busiest_year")
    ten = data.pop("ten_years")
    return {
        "database": engine_name,
        "build_seconds": build_seconds,
        # Other work on the machine slows every figure: a load above the CPU count means the
        # timings are pessimistic.
        "cpus": os.cpu_count(),
        "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "dataset": data,
        "busiest_year": {"period": [busiest_year.first.isoformat(), busiest_year.last.isoformat()], **busiest},
        "ten_years": {"period": [ten.first.isoformat(), ten.last.isoformat()], **ten_years},
        "queries_one_month": one_month,
        "queries_empty_year": empty,
    }


def _verdicts(report: dict) -> list[str]:
    lines = []
    for key, name in (("busiest_year", "busiest financial year"), ("ten_years", "ten years")):
        r = report[key]
        if "error" in r:
            lines.append(f"FAIL {report['database']} {name}: {r['error']}")
            continue
        ok = r["p95_ms"] <= BUDGET_MS
        lines.append(f"{'PASS' if ok else 'FAIL'} {report['database']} {name}: p95 {r['p95_ms']} ms "
                     f"(p50 {r['p50_ms']} ms, budget {BUDGET_MS:.0f} ms)")
    counts = {str(q) for key in ("busiest_year", "ten_years") for q in report[key].get("queries", ["?"])}
    counts |= {str(report["queries_one_month"]), str(report["queries_empty_year"])}
    lines.append(f"{'PASS' if len(counts) == 1 else 'FAIL'} {report['database']} constant queries: "
                 f"{', '.join(sorted(counts))} per request (empty year, one month, busiest year, ten years)")
    return lines


def _print(report: dict) -> None:
    sizes = report["dataset"]["sizes"]
    print(f"\n== {report['database']}: {sizes['bookings']:,} bookings, {sizes['evaluations_submitted']:,} submitted "
          f"evaluations, {sizes['attendances']:,} register entries, {sizes['sessions']:,} sessions, "
          f"{sizes['people']:,} people in {sizes['agencies']} agencies; built in {report['build_seconds']} s")
    print(f"machine: {report['cpus']} CPUs, load average {report['load_average_1m'][0]} before and "
          f"{report['load_average_1m'][1]} after timing")
    print(f"{'GET /reports/summary':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU ms':>8} {'SQL ms':>8} "
          f"{'queries':>8}")
    for key, name in (("busiest_year", "busiest year"), ("ten_years", "ten years")):
        r = report[key]
        label = f"{name} {r['period'][0]}..{r['period'][1]}"
        if "error" in r:
            print(f"{label:32} {r['error']}")
            continue
        print(f"{label:32} {r['p50_ms']:8} {r['p95_ms']:8} {r['max_ms']:8} {r['cpu_p50_ms']:8} {r['sql_median_ms']:8} "
              f"{','.join(map(str, r['queries'])):>8}")
    slow = report["busiest_year"].get("slowest_statements") or []
    if slow:
        print("slowest statements (busiest year, median ms):")
        for s in slow[:3]:
            print(f"  {s['median_ms']:7} ms  {s['sql'][:150]}")
    for line in _verdicts(report):
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per period (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    engines = ["sqlite"]
    if not args.sqlite_only and (os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")):
        engines.append("postgresql")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    reports = []
    for engine_name in engines:
        report = run_engine(engine_name, args.requests, args.warmup)
        _print(report)
        reports.append(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"{stamp}-report.json"
    out.write_text(json.dumps({"date": stamp, "commit": commit, "budget_ms": BUDGET_MS, "requests": args.requests,
                               "warmup": args.warmup, "reports": reports,
                               "verdicts": [line for r in reports for line in _verdicts(r)]}, indent=2,
                              default=str) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
