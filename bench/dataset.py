"""A synthetic dataset built with bulk inserts (sizes are arguments, not tuned to pages)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from training.accounts.models import Agency, Role, RoleGrant, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, CourseTheme, Level, Theme, session_trainers
from training.db import utcnow
from training.extensions import db

PASSWORD = "benchmark password"


def build(agencies: int = 60, people: int = 5000, courses: int = 60, sessions: int = 600,
          bookings_per_session: int = 25, seed: int = 7) -> dict:
    """Fill an empty schema; returns ids the benchmark needs."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    sectors = list(Sector)
    conn = db.session.connection()
    conn.execute(insert(Agency), [
        {"id": i + 1, "name": f"Agency {i + 1}", "sector": sectors[i % len(sectors)], "active": True,
         "created_at": now} for i in range(agencies)])
    conn.execute(insert(User), [
        {"id": i + 1, "email": f"person{i + 1}@bench.example", "name": f"Person {i + 1}", "password_hash": pw,
         "agency_id": rng.randint(1, agencies), "job_title": "Practitioner", "manager_name": "Manager",
         "manager_email": "manager@bench.example", "consent_updates": False, "active": True, "created_at": now}
        for i in range(people)])
    grants = [{"user_id": i + 1, "role": Role.PROFESSIONAL, "granted_at": now} for i in range(people)]
    trainers = list(range(1, 21))
    grants += [{"user_id": t, "role": Role.TRAINER, "granted_at": now} for t in trainers]
    grants.append({"user_id": people, "role": Role.COORDINATOR, "granted_at": now})
    conn.execute(insert(RoleGrant), grants)
    formats, levels, themes = list(CourseFormat), list(Level), list(Theme)
    conn.execute(insert(Course), [
        {"id": c + 1, "title": f"Course {c + 1}", "summary": "Summary", "learning_outcomes": "One\nTwo",
         "level": levels[c % len(levels)], "duration_minutes": 180, "format": formats[c % len(formats)],
         "refresher_months": 36, "active": True, "created_at": now} for c in range(courses)])
    conn.execute(insert(CourseTheme), [
        {"course_id": c + 1, "theme": themes[c % len(themes)]} for c in range(courses)])
    rows, links, bookings, attendances = [], [], [], []
    booking_id = 0
    for s in range(sessions):
        start = now + timedelta(days=rng.randint(-3650, 120), hours=rng.randint(0, 8))
        capacity = 30
        taken = min(bookings_per_session, capacity)
        rows.append({"id": s + 1, "course_id": rng.randint(1, courses), "starts_at": start,
                     "ends_at": start + timedelta(hours=3), "venue": "Civic Centre", "online_link": None,
                     "capacity": capacity, "places_taken": taken if start > now else 0,
                     "booking_closes_at": start - timedelta(days=1), "status": "scheduled", "created_at": now})
        links.append({"session_id": s + 1, "user_id": trainers[s % len(trainers)]})
        for user_id in rng.sample(range(1, people + 1), taken):
            booking_id += 1
            bookings.append({"id": booking_id, "session_id": s + 1, "user_id": user_id,
                             "status": BookingStatus.CONFIRMED, "queued_at": now, "created_at": now,
                             "status_changed_at": now, "confirmed_at": now, "overbooked": False})
            if start < now:
                attendances.append({"session_id": s + 1, "booking_id": booking_id, "user_id": user_id,
                                    "attendee_name": f"Person {user_id}", "agency_id": 1,
                                    "outcome": AttendanceOutcome.ATTENDED, "walk_in": False, "recorded_at": now})
    conn.execute(insert(CourseSession), rows)
    conn.execute(insert(session_trainers), links)
    for chunk in range(0, len(bookings), 5000):
        conn.execute(insert(Booking), bookings[chunk:chunk + 5000])
    for chunk in range(0, len(attendances), 5000):
        conn.execute(insert(Attendance), attendances[chunk:chunk + 5000])
    if db.engine.dialect.name == "postgresql":
        for table in ("agencies", "users", "role_grants", "courses", "course_sessions", "bookings", "attendances"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    db.session.commit()
    upcoming = [r for r in rows if r["starts_at"] > now + timedelta(days=2)]
    past = [r for r in rows if r["starts_at"] < now]
    heavy = Counter(b["user_id"] for b in bookings).most_common(1)[0][0]
    return {
        "course_id": upcoming[0]["course_id"],
        "session_id": upcoming[0]["id"],
        "past_session_id": past[-1]["id"],
        "trainer_id": trainers[(past[-1]["id"] - 1) % len(trainers)],
        "heavy_user_id": heavy,
        "people": people,
        "bookings": len(bookings),
    }
