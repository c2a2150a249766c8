"""A synthetic dataset built with bulk inserts, at the sizes the performance issue names.

Ten years of a partnership: 200 agencies, 50,000 professionals, 150 courses, 6,000 sessions
(most in the past, some upcoming and bookable), 150,000 bookings and 90,000 evaluation forms
with their answers. `scale` shrinks every count in proportion (for development and tests);
the counts are the issue's, not chosen to suit any page.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from training.accounts.models import Agency, Role, RoleGrant, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome, Register
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, CourseTheme, Level, Theme, session_trainers
from training.db import utcnow
from training.evaluation.models import Answer, Evaluation, EvaluationStatus, Question, QuestionKind, QuestionSet, Stage
from training.evaluation.questions import DEFAULT_QUESTIONS
from training.extensions import db

PASSWORD = "benchmark password"
YEARS = 10
UPCOMING_SHARE = 0.05  # of sessions: the next four months' programme
CHUNK = 5000


@dataclass(frozen=True)
class Sizes:
    """Row counts for one build."""

    agencies: int
    people: int
    courses: int
    sessions: int
    bookings: int
    evaluations: int

    @classmethod
    def issue(cls, scale: float = 1.0) -> Sizes:
        """The issue's sizes, times `scale` (never below what a page needs)."""
        def n(full: int, least: int) -> int:
            return max(least, round(full * scale))
        return cls(agencies=n(200, 5), people=n(50_000, 200), courses=n(150, 5), sessions=n(6_000, 40),
                   bookings=n(150_000, 600), evaluations=n(90_000, 300))


def _bulk(conn, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(model), rows[start:start + CHUNK])


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` spread unevenly over `parts`, summing exactly to `total`."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in rng.sample(range(parts), total - sum(counts)):
        counts[i] += 1
    return counts


def _question_sets(conn, now: datetime) -> dict[Stage, tuple[int, list[tuple[int, str, QuestionKind, bool]]]]:
    """Version 1 of each stage's questions; returns (set id, [(question id, key, kind, required)])."""
    out = {}
    question_id = 0
    for set_id, (stage, definitions) in enumerate(DEFAULT_QUESTIONS.items(), 1):
        conn.execute(insert(QuestionSet), [{"id": set_id, "stage": stage, "version": 1, "introduced_at": now,
                                            "note": "Version 1"}])
        rows = []
        for position, d in enumerate(definitions, 1):
            question_id += 1
            rows.append({"id": question_id, "question_set_id": set_id, "key": d.key, "kind": d.kind, "text": d.text,
                         "hint": d.hint, "position": position, "required": d.required, "low_label": d.low_label,
                         "high_label": d.high_label})
        conn.execute(insert(Question), rows)
        out[stage] = (set_id, [(r["id"], r["key"], r["kind"], r["required"]) for r in rows])
    return out


def build(sizes: Sizes | None = None, seed: int = 7, analyze: bool = True) -> dict:
    """Fill an empty schema with `sizes` (default: the issue's); returns ids and counts the benchmark needs.

    `analyze` refreshes the planner's statistics afterwards, as a real database would have them;
    tests turn it off so the statistics do not outlive their data."""
    sizes = sizes or Sizes.issue()
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    conn = db.session.connection()

    sectors = list(Sector)
    _bulk(conn, Agency, [{"id": i + 1, "name": f"Agency {i + 1}", "sector": sectors[i % len(sectors)],
                          "active": True, "created_at": now} for i in range(sizes.agencies)])
    agency_of = [0] + [rng.randint(1, sizes.agencies) for _ in range(sizes.people)]
    _bulk(conn, User, [
        {"id": i, "email": f"person{i}@bench.example", "name": f"Person {i}", "password_hash": pw,
         "agency_id": agency_of[i], "job_title": "Practitioner", "manager_name": "Manager",
         "manager_email": "manager@bench.example", "consent_updates": False, "active": True, "created_at": now}
        for i in range(1, sizes.people + 1)])
    trainers = list(range(1, max(4, sizes.people // 1250) + 1))  # 40 at full size
    coordinator = sizes.people
    grants = [{"user_id": i, "role": Role.PROFESSIONAL, "granted_at": now} for i in range(1, sizes.people + 1)]
    grants += [{"user_id": t, "role": Role.TRAINER, "granted_at": now} for t in trainers]
    grants.append({"user_id": coordinator, "role": Role.COORDINATOR, "granted_at": now})
    _bulk(conn, RoleGrant, grants)

    formats, levels, themes = list(CourseFormat), list(Level), list(Theme)
    _bulk(conn, Course, [
        {"id": c + 1, "title": f"Course {c + 1}", "summary": f"What course {c + 1} covers.",
         "learning_outcomes": "Recognise the signs\nKnow who to tell\nRecord what you saw",
         "level": levels[c % len(levels)], "duration_minutes": rng.choice((180, 210, 360, 420)),
         "format": formats[c % len(formats)], "refresher_months": 36, "active": True, "created_at": now}
        for c in range(sizes.courses)])
    _bulk(conn, CourseTheme, [{"course_id": c + 1, "theme": t} for c in range(sizes.courses)
                              for t in {themes[c % len(themes)], themes[(c * 7) % len(themes)]}])

    # Sessions: most spread over the past ten years, the rest in the next four months.
    upcoming_n = max(5, round(sizes.sessions * UPCOMING_SHARE))
    starts = sorted([now - timedelta(days=rng.uniform(2, 365 * YEARS)) for _ in range(sizes.sessions - upcoming_n)]
                    + [now + timedelta(days=rng.uniform(3, 120)) for _ in range(upcoming_n)])
    sessions = []
    for s, start in enumerate(starts, 1):
        start = start.replace(hour=rng.choice((9, 10, 13)), minute=0, second=0, microsecond=0)
        sessions.append({"id": s, "course_id": rng.randint(1, sizes.courses), "starts_at": start,
                         "ends_at": start + timedelta(hours=3), "venue": "Civic Centre", "online_link": None,
                         "capacity": rng.choice((20, 24, 25, 30)), "places_taken": 0,
                         "booking_closes_at": start - timedelta(days=1), "status": "scheduled", "created_at": now})
    past = [r for r in sessions if r["starts_at"] < now]
    upcoming = [r for r in sessions if r["starts_at"] > now]
    past[-1]["capacity"] = 30  # the trainer's register of 30 (filled below)

    # Bookings per session: upcoming ones part-filled, some full with a waiting list; the rest go to the past.
    per_session: dict[int, int] = {r["id"]: int(r["capacity"] * rng.uniform(0.2, 1.2)) for r in upcoming}
    for r, n in zip(past, _split(sizes.bookings - sum(per_session.values()), len(past), rng), strict=True):
        per_session[r["id"]] = n
    shortfall = 30 - per_session[past[-1]["id"]]
    if shortfall > 0:  # keep the total exact: take the register's extra bookings from other past sessions
        per_session[past[-1]["id"]] = 30
        for r in rng.sample(past[:-1], shortfall):
            per_session[r["id"]] -= 1
    # Some people book far more than others: a skewed draw over a shuffled list of people.
    # Two people never book, so the benchmark can count a booking POST's queries on a fresh pair.
    spare = [coordinator - 2, coordinator - 1]
    people = [p for p in range(1, sizes.people + 1) if p not in spare]
    rng.shuffle(people)

    def someone() -> int:
        return people[int(len(people) * rng.random() ** 1.5)]

    bookings, attendances, registers = [], [], []
    present: list[tuple[int, int, datetime]] = []  # (booking id, session id, start) of those who came
    booked_past: list[tuple[int, int]] = []
    booking_id = 0
    for r in sessions:
        n, cap, start = per_session[r["id"]], r["capacity"], r["starts_at"]
        chosen: set[int] = set()
        while len(chosen) < n:
            chosen.add(someone())
        is_past = start < now
        # Booked 10-60 days ahead, and never later than yesterday (upcoming sessions too).
        created = min(start - timedelta(days=rng.randint(10, 60)), now - timedelta(days=1))
        for order, user_id in enumerate(sorted(chosen, key=lambda _: rng.random())):
            booking_id += 1
            queued = created + timedelta(minutes=order)
            if order < cap:
                status = BookingStatus.CANCELLED if is_past and rng.random() < 0.06 else BookingStatus.CONFIRMED
            else:
                status = BookingStatus.EXPIRED if is_past else BookingStatus.WAITLISTED
            bookings.append({"id": booking_id, "session_id": r["id"], "user_id": user_id, "status": status,
                             "queued_at": queued, "created_at": queued, "status_changed_at": queued,
                             "confirmed_at": queued if status == BookingStatus.CONFIRMED else None,
                             "overbooked": False})
            if status != BookingStatus.CONFIRMED:
                continue
            if not is_past:
                r["places_taken"] += 1
                continue
            booked_past.append((booking_id, r["id"]))
            roll = rng.random()
            outcome = (AttendanceOutcome.ATTENDED if roll < 0.85 else AttendanceOutcome.PARTIAL if roll < 0.9
                       else AttendanceOutcome.DID_NOT_ATTEND)
            attendances.append({"session_id": r["id"], "booking_id": booking_id, "user_id": user_id,
                                "attendee_name": f"Person {user_id}", "agency_id": agency_of[user_id],
                                "outcome": outcome, "walk_in": False, "recorded_by_id": trainers[r["id"] % len(trainers)],
                                "recorded_at": r["ends_at"]})
            if outcome.was_present:
                present.append((booking_id, r["id"], start))
        if is_past:
            registers.append({"session_id": r["id"], "completed_at": r["ends_at"],
                              "completed_by_id": trainers[r["id"] % len(trainers)]})
    assert len(bookings) == sizes.bookings, (len(bookings), sizes.bookings)

    _bulk(conn, CourseSession, sessions)
    _bulk(conn, session_trainers, [{"session_id": r["id"], "user_id": trainers[r["id"] % len(trainers)]}
                                   for r in sessions])
    _bulk(conn, Booking, bookings)
    _bulk(conn, Attendance, attendances)
    _bulk(conn, Register, registers)
    evaluations, answers = _evaluations(conn, sizes.evaluations, booked_past, present, now, rng)
    _bulk(conn, Evaluation, evaluations)
    _bulk(conn, Answer, answers)

    if db.engine.dialect.name == "postgresql":
        for table in ("agencies", "users", "role_grants", "courses", "course_sessions", "bookings", "attendances",
                      "question_sets", "questions", "evaluations", "answers"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
        if analyze:
            conn.execute(text("ANALYZE"))
    db.session.commit()
    if analyze and db.engine.dialect.name == "sqlite":
        db.session.execute(text("ANALYZE"))
        db.session.commit()

    bookable = [r for r in upcoming if r["places_taken"] < r["capacity"] and r["booking_closes_at"] > now]
    heavy = Counter(b["user_id"] for b in bookings).most_common(1)[0][0]
    register = past[-1]
    return {
        "course_id": bookable[0]["course_id"],
        "session_id": bookable[0]["id"],
        "past_session_id": register["id"],
        "trainer_id": trainers[register["id"] % len(trainers)],
        "coordinator_id": coordinator,
        "spare_people": spare,
        "heavy_user_id": heavy,
        "heavy_user_bookings": Counter(b["user_id"] for b in bookings)[heavy],
        "upcoming_session_ids": [r["id"] for r in upcoming if r["booking_closes_at"] > now],
        "agencies": sizes.agencies,
        "people": sizes.people,
        "courses": sizes.courses,
        "sessions": len(sessions),
        "upcoming_sessions": len(upcoming),
        "bookings": len(bookings),
        "attendances": len(attendances),
        "evaluations": len(evaluations),
        "answers": len(answers),
        "first_year": min(r["starts_at"] for r in sessions).year,
    }


def _evaluations(conn, total: int, booked_past: list[tuple[int, int]], present: list[tuple[int, int, datetime]],
                 now: datetime, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """`total` forms: half after-course, three in ten before, the rest follow-ups; with their answers."""
    sets = _question_sets(conn, now)
    follow_ready = [p for p in present if p[2] < now - timedelta(weeks=8)]
    wanted = {Stage.AFTER: total // 2, Stage.BEFORE: total * 3 // 10}
    wanted[Stage.FOLLOW_UP] = total - wanted[Stage.AFTER] - wanted[Stage.BEFORE]
    pools = {Stage.AFTER: [(b, s) for b, s, _ in present], Stage.BEFORE: booked_past,
             Stage.FOLLOW_UP: [(b, s) for b, s, _ in follow_ready]}
    evaluations, answers = [], []
    answer_id = 0
    for stage in (Stage.BEFORE, Stage.AFTER, Stage.FOLLOW_UP):
        set_id, questions = sets[stage]
        for booking_id, session_id in rng.sample(pools[stage], min(wanted[stage], len(pools[stage]))):
            eval_id = len(evaluations) + 1
            submitted = rng.random() < 0.97
            evaluations.append({"id": eval_id, "booking_id": booking_id, "session_id": session_id, "stage": stage,
                                "question_set_id": set_id, "created_at": now, "updated_at": now,
                                "status": EvaluationStatus.SUBMITTED if submitted else EvaluationStatus.DRAFT,
                                "submitted_at": now if submitted else None})
            for question_id, key, kind, required in questions:
                if not required and rng.random() < 0.7:
                    continue
                values: list[dict] = []
                if kind == QuestionKind.RATING:
                    values.append({"rating": rng.choices((1, 2, 3, 4, 5), (1, 2, 5, 8, 6))[0]})
                elif kind == QuestionKind.OVERALL:
                    values.append({"choice": rng.choices(("excellent", "good", "satisfactory", "poor"),
                                                         (5, 8, 2, 1))[0]})
                elif kind == QuestionKind.YES_NO:
                    values.append({"choice": rng.choice(("yes", "yes", "no"))})
                elif kind == QuestionKind.OUTCOMES:
                    for index, wording in enumerate(("Recognise the signs", "Know who to tell",
                                                     "Record what you saw"), 1):
                        values.append({"outcome_index": index, "outcome_text": wording,
                                       "choice": rng.choices(("met", "partly", "not-met"), (8, 2, 1))[0]})
                else:
                    values.append({"text": f"Answer to {key} number {eval_id}."})
                for v in values:
                    answer_id += 1
                    answers.append({"id": answer_id, "evaluation_id": eval_id, "question_id": question_id,
                                    "outcome_index": v.get("outcome_index", 0), "outcome_text": v.get("outcome_text"),
                                    "rating": v.get("rating"), "choice": v.get("choice"), "text": v.get("text"),
                                    "quotable": False})
    return evaluations, answers
