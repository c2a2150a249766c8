"""History import: what a file would add (the preview), and the import itself.

A file is matched against what the service already holds:
- courses by title and agencies by name (trimmed, spaces collapsed, case ignored);
- people by email address, ignoring case (users.email is stored lower-case);
- sessions by course and start time.
Whatever is not found is created. A row whose person already has a booking or an attendance
on that session (or is on its register as a walk-in with the same email) is "already
recorded" and skipped, so importing the same file twice changes nothing the second time.

The import is one write transaction: all of the file or none of it. It runs a fixed number of
statements whatever the file's size: everything the file names is loaded in a few queries
(emails in chunks of CHUNK), then each table gets one bulk INSERT (SQLAlchemy's
insertmanyvalues, which sends it in pages of 1,000 rows on both databases).
"""
from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from ..accounts.models import Agency, Role, RoleGrant, Sector, User
from ..attendance.models import Attendance, AttendanceOutcome, Register
from ..audit.services import record
from ..booking.models import Booking, BookingStatus
from ..catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus
from ..db import utcnow, write_transaction
from ..evaluation.models import Answer, Evaluation, EvaluationStatus, QuestionSet, Stage
from ..evaluation.services import current_question_set
from ..extensions import db
from ..timeutil import format_date, format_datetime, to_london
from .errors import ImportConflict, ImportNotFound, ImportNotPending, InvalidHistoryFile, Problem
from .models import HistoryImport, ImportStatus, RecordStatus
from .parser import HistoryRow, ParsedFile, match_key, parse, session_length

#: Emails per IN (...) query: well inside SQLite's 32,766 and PostgreSQL's 65,535 parameters.
CHUNK = 5000
#: A new course's length when no row of the file gives a session's end.
DEFAULT_DURATION_MINUTES = 180
#: The level of a course created from past records. The file does not say; most multi-agency
#: courses are Level 2, and a coordinator can change it on the course page.
DEFAULT_LEVEL = Level.LEVEL_2
IMPORTED_SUMMARY = "Imported from past records."
NOT_RECORDED = "Not recorded"
BOOKING_NOTE = "Imported from past records"
PREVIEW_ROWS = 20

_PLACE_HOLDING = (RecordStatus.ATTENDED, RecordStatus.DID_NOT_ATTEND)
_OUTCOMES = {RecordStatus.ATTENDED: AttendanceOutcome.ATTENDED,
             RecordStatus.DID_NOT_ATTEND: AttendanceOutcome.DID_NOT_ATTEND}


@dataclass
class Counts:
    """How many rows are new, and what importing them creates."""

    rows: int = 0
    new_rows: int = 0
    already_recorded: int = 0
    courses: int = 0
    sessions: int = 0
    agencies: int = 0
    people: int = 0
    bookings: int = 0
    attendances: int = 0
    evaluations: int = 0
    first_date: str | None = None  # London dates of the file's first and last sessions (ISO)
    last_date: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | None) -> Counts:
        if not raw:
            return cls()
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in json.loads(raw).items() if k in known})

    @property
    def period(self) -> tuple[date, date] | None:
        if not (self.first_date and self.last_date):
            return None
        return date.fromisoformat(self.first_date), date.fromisoformat(self.last_date)


@dataclass
class _NewCourse:
    title: str
    formats: Counter = field(default_factory=Counter)
    lengths: Counter = field(default_factory=Counter)
    id: int | None = None

    @property
    def duration(self) -> int:
        return self.lengths.most_common(1)[0][0] if self.lengths else DEFAULT_DURATION_MINUTES

    @property
    def format(self) -> CourseFormat:
        return self.formats.most_common(1)[0][0]


@dataclass
class _NewAgency:
    name: str
    sector: Sector
    id: int | None = None


@dataclass
class _NewPerson:
    email: str
    name: str
    agency_key: str
    starts_at: datetime  # of the row the name and agency come from: the person's latest
    id: int | None = None


@dataclass
class _NewSession:
    course_key: str
    starts_at: datetime
    kind: SessionKind
    rows: int = 0
    confirmed: int = 0
    ends_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class _ExistingSession:
    id: int
    ends_at: datetime
    status: SessionStatus
    capacity: int
    places_taken: int
    kind: SessionKind


@dataclass
class Plan:
    """What importing a parsed file would do, given what the database holds now."""

    rows: list[HistoryRow]
    new: list[bool]  # per row: True to import, False when already recorded
    counts: Counts
    warnings: list[str]
    problems: list[Problem]
    courses: dict[str, int] = field(default_factory=dict)  # key -> existing id
    new_courses: dict[str, _NewCourse] = field(default_factory=dict)
    agencies: dict[str, int] = field(default_factory=dict)
    new_agencies: dict[str, _NewAgency] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)  # email -> existing id
    new_people: dict[str, _NewPerson] = field(default_factory=dict)
    sessions: dict[tuple[str, datetime], _ExistingSession] = field(default_factory=dict)
    new_sessions: dict[tuple[str, datetime], _NewSession] = field(default_factory=dict)
    extra_places: Counter = field(default_factory=Counter)  # existing session id -> new confirmed bookings

    def preview_rows(self, limit: int = PREVIEW_ROWS) -> list[tuple[HistoryRow, bool]]:
        return list(zip(self.rows[:limit], self.new[:limit], strict=True))


# ---------------------------------------------------------------------------
# Reading what the database already holds
# ---------------------------------------------------------------------------

def _chunks(values: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_courses() -> dict[str, tuple[int, int]]:
    """Every course by match key -> (id, duration). Courses are few; matching in Python treats
    accents and case the same way on both databases."""
    found: dict[str, tuple[int, int]] = {}
    for course_id, title, duration in db.session.execute(
            select(Course.id, Course.title, Course.duration_minutes).order_by(Course.id)):
        found.setdefault(match_key(title), (course_id, duration))
    return found


def _existing_agencies() -> dict[str, tuple[int, str, Sector]]:
    found: dict[str, tuple[int, str, Sector]] = {}
    for agency_id, name, sector in db.session.execute(
            select(Agency.id, Agency.name, Agency.sector).order_by(Agency.id)):
        found.setdefault(match_key(name), (agency_id, name, sector))
    return found


def _existing_people(emails: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(emails))):
        found.update({email: user_id for user_id, email in db.session.execute(
            select(User.id, User.email).where(User.email.in_(chunk)))})
    return found


def _session_filter(course_ids: Sequence[int], first: datetime, last: datetime):
    return (CourseSession.course_id.in_(course_ids), CourseSession.starts_at >= first,
            CourseSession.starts_at <= last)


def _existing_sessions(course_ids: Sequence[int], first: datetime, last: datetime):
    """(course id, start) -> session, and who is already booked or on the register."""
    sessions: dict[tuple[int, datetime], _ExistingSession] = {}
    where = _session_filter(course_ids, first, last)
    for row in db.session.execute(
            select(CourseSession.id, CourseSession.course_id, CourseSession.starts_at, CourseSession.ends_at,
                   CourseSession.status, CourseSession.capacity, CourseSession.places_taken, CourseSession.kind)
            .where(*where).order_by(CourseSession.id)):
        sessions.setdefault((row.course_id, row.starts_at), _ExistingSession(
            row.id, row.ends_at, row.status, row.capacity, row.places_taken, row.kind))
    booked = {(session_id, user_id) for session_id, user_id in db.session.execute(
        select(Booking.session_id, Booking.user_id).join(CourseSession, CourseSession.id == Booking.session_id)
        .where(*where))}
    registered_people: set[tuple[int, int]] = set()
    registered_emails: set[tuple[int, str]] = set()
    for session_id, user_id, email in db.session.execute(
            select(Attendance.session_id, Attendance.user_id, Attendance.attendee_email)
            .join(CourseSession, CourseSession.id == Attendance.session_id).where(*where)):
        if user_id is not None:
            registered_people.add((session_id, user_id))
        if email:
            registered_emails.add((session_id, email.strip().lower()))
    return sessions, booked | registered_people, registered_emails


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------

def _london_day(value: datetime) -> str:
    return to_london(value).date().isoformat()


def build_plan(parsed: ParsedFile) -> Plan:
    """Match the file against the database: what is new, what would be created, and warnings."""
    rows = parsed.rows
    counts = Counts(rows=len(rows))
    plan = Plan(rows=rows, new=[False] * len(rows), counts=counts, warnings=list(parsed.warnings), problems=[])
    if rows:
        counts.first_date = _london_day(min(r.starts_at for r in rows))
        counts.last_date = _london_day(max(r.starts_at for r in rows))

    courses = _existing_courses()
    agencies = _existing_agencies()
    people = _existing_people(r.attendee_email for r in rows)
    matched_course_rows = [r for r in rows if r.course_key in courses]
    sessions: dict = {}
    recorded: set[tuple[int, int]] = set()
    recorded_emails: set[tuple[int, str]] = set()
    if matched_course_rows:
        course_ids = sorted({courses[r.course_key][0] for r in matched_course_rows})
        sessions, recorded, recorded_emails = _existing_sessions(
            course_ids, min(r.starts_at for r in matched_course_rows), max(r.starts_at for r in matched_course_rows))

    sector_differs: dict[str, list[int]] = {}
    cancelled_lines: list[HistoryRow] = []
    for position, row in enumerate(rows):
        course = courses.get(row.course_key)
        existing = sessions.get((course[0], row.starts_at)) if course else None
        if existing is not None and existing.status == SessionStatus.CANCELLED:
            cancelled_lines.append(row)
            continue
        person_id = people.get(row.attendee_email)
        if existing is not None and (
                (person_id is not None and (existing.id, person_id) in recorded)
                or (existing.id, row.attendee_email) in recorded_emails):
            counts.already_recorded += 1
            continue
        plan.new[position] = True
        counts.new_rows += 1
        counts.bookings += 1
        if row.status in _PLACE_HOLDING:
            counts.attendances += 1
        if row.status is RecordStatus.ATTENDED and (row.rating is not None or row.comment):
            counts.evaluations += 1

        if course is not None:
            plan.courses[row.course_key] = course[0]
        else:
            new_course = plan.new_courses.setdefault(row.course_key, _NewCourse(row.course_title))
            new_course.formats[row.format] += 1

        agency = agencies.get(row.agency_key)
        if agency is not None:
            plan.agencies[row.agency_key] = agency[0]
            if row.sector is not agency[2]:
                sector_differs.setdefault(row.agency_key, []).append(row.line)
        else:
            new_agency = plan.new_agencies.setdefault(row.agency_key, _NewAgency(row.agency, row.sector))
            if row.sector is not new_agency.sector:
                sector_differs.setdefault(row.agency_key, []).append(row.line)

        if person_id is not None:
            plan.people[row.attendee_email] = person_id
        else:
            person = plan.new_people.get(row.attendee_email)
            if person is None or row.starts_at >= person.starts_at:
                plan.new_people[row.attendee_email] = _NewPerson(
                    row.attendee_email, row.attendee_name, row.agency_key, row.starts_at)

        if existing is not None:
            plan.sessions[row.session_key] = existing
            if row.status in _PLACE_HOLDING:
                plan.extra_places[existing.id] += 1
        else:
            new_session = plan.new_sessions.setdefault(
                row.session_key, _NewSession(row.course_key, row.starts_at, row.kind))
            new_session.rows += 1
            if row.status in _PLACE_HOLDING:
                new_session.confirmed += 1
            if row.ends_at is not None:
                new_session.ends_at = row.ends_at

    for row in cancelled_lines:
        plan.problems.append(Problem(
            f"The session of {row.course_title} starting {format_datetime(row.starts_at)} was cancelled, so no one "
            "can be recorded on it: check the course title and the start", row.line, "session_start"))

    _finish_sessions(plan, courses)
    _warn_about_existing_sessions(plan)
    _warn_about_sectors(plan, agencies, sector_differs)
    counts.courses = len(plan.new_courses)
    counts.sessions = len(plan.new_sessions)
    counts.agencies = len(plan.new_agencies)
    counts.people = len(plan.new_people)
    if plan.new_agencies:
        plan.warnings.append(
            f"{_plural(len(plan.new_agencies), 'new agency', 'new agencies')} will be created as inactive, so "
            "people cannot choose them when they register until a coordinator reactivates them under Manage, "
            "then Agencies: " + ", ".join(sorted(a.name for a in plan.new_agencies.values())))
    return plan


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _finish_sessions(plan: Plan, courses: dict[str, tuple[int, int]]) -> None:
    """Each new session's end: given in the file, else its course's length."""
    for new_session in plan.new_sessions.values():
        if new_session.ends_at is not None and new_session.course_key in plan.new_courses:
            plan.new_courses[new_session.course_key].lengths[
                session_length(new_session.starts_at, new_session.ends_at)] += 1
    for new_session in plan.new_sessions.values():
        if new_session.ends_at is None:
            course = courses.get(new_session.course_key)
            minutes = course[1] if course else plan.new_courses[new_session.course_key].duration
            new_session.ends_at = new_session.starts_at + timedelta(minutes=minutes)


def _warn_about_existing_sessions(plan: Plan) -> None:
    """Recorded sessions keep their times and type; say where the file disagrees."""
    seen: set[int] = set()
    for row, new in zip(plan.rows, plan.new, strict=True):
        existing = plan.sessions.get(row.session_key)
        if not new or existing is None or existing.id in seen:
            continue
        seen.add(existing.id)
        over = existing.places_taken + plan.extra_places[existing.id] - existing.capacity
        if over > 0 and plan.extra_places[existing.id]:
            plan.warnings.append(
                f"The session of {row.course_title} starting {format_datetime(row.starts_at)} has "
                f"{existing.capacity} places, and this file takes it over by {min(over, plan.extra_places[existing.id])}: "
                "those bookings are marked as overbooked")
        differences = []
        if row.ends_at is not None and row.ends_at != existing.ends_at:
            differences.append(f"ends at {format_datetime(existing.ends_at)}")
        if row.kind is not existing.kind:
            differences.append(f"is a {existing.kind.label.lower()}")
        if differences:
            plan.warnings.append(
                f"Line {row.line}: the session of {row.course_title} starting {format_datetime(row.starts_at)} is "
                f"already recorded and {' and '.join(differences)}. It stays as it is")


def _warn_about_sectors(plan: Plan, agencies: dict, differs: dict[str, list[int]]) -> None:
    for key, lines in differs.items():
        if key in agencies:
            name, sector = agencies[key][1], agencies[key][2]
            verb = "is recorded as"
        else:
            name, sector = plan.new_agencies[key].name, plan.new_agencies[key].sector
            verb = "will be created as"
        shown = ", ".join(str(line) for line in lines[:10]) + (" and others" if len(lines) > 10 else "")
        plan.warnings.append(
            f"{name} {verb} {sector.label}, but {_plural(len(lines), 'row gives', 'rows give')} another sector "
            f"(line{'s' if len(lines) > 1 else ''} {shown}). The agency keeps {sector.label}")


def _same_file_warning(sha256: str) -> str | None:
    earlier = db.session.execute(
        select(HistoryImport.imported_at).where(HistoryImport.sha256 == sha256,
                                                HistoryImport.status == ImportStatus.IMPORTED)
        .order_by(HistoryImport.imported_at).limit(1)).scalar()
    if earlier is None:
        return None
    return (f"A file with exactly the same contents was imported on {format_date(earlier)}. Rows already "
            "recorded are skipped")


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def _insert_returning(table, rows: list[dict], *keys: str) -> dict:
    """Insert `rows` in bulk; new id by the values of `keys` (unique within `rows`). Matching by
    key rather than by position lets the driver batch the rows without a guaranteed order."""
    if not rows:
        return {}
    columns = [table.c[k] for k in keys]
    statement = insert(table).returning(table.c.id, *columns)
    result = db.session.connection().execute(statement, rows)
    if len(keys) == 1:
        return {row[1]: row[0] for row in result}
    return {tuple(row[1:]): row[0] for row in result}


def _insert(table, rows: list[dict]) -> None:
    if rows:
        db.session.connection().execute(insert(table), rows)


def _after_questions() -> tuple[int, int, int | None]:
    """The ids of the current after-course questions 'overall' and 'comments'."""
    question_set: QuestionSet = current_question_set(Stage.AFTER)
    by_key = {q.key: q.id for q in question_set.questions}
    if "overall" not in by_key:
        raise RuntimeError("the after-course questions have no 'overall' question")
    return question_set.id, by_key["overall"], by_key.get("comments")


def _write_scope(rows: list[HistoryRow], course_ids: dict[str, int]) -> tuple[list[int], datetime, datetime]:
    """The courses and period of the rows being written, to read back the ids of what was inserted."""
    if not rows:
        return [], datetime.min, datetime.min
    return (sorted({course_ids[r.course_key] for r in rows}), min(r.starts_at for r in rows),
            max(r.starts_at for r in rows))


def _ids_in_scope(query, scope: tuple[list[int], datetime, datetime]) -> dict:
    """id by the other selected columns, for the sessions of `scope`.

    Rows just inserted are read back like this rather than with INSERT ... RETURNING: a plain
    bulk INSERT is sent by psycopg as one pipelined prepared statement, several times faster
    on PostgreSQL than RETURNING's pages of multi-row VALUES. A booking or evaluation this
    import writes is the only one of its key (a row is skipped when its person already has a
    booking on the session), so the key finds exactly the new row.
    """
    course_ids, first, last = scope
    found: dict = {}
    for chunk in _chunks(course_ids):
        for row in db.session.execute(query.where(*_session_filter(chunk, first, last))):
            found[tuple(row[1:]) if len(row) > 2 else row[1]] = row[0]
    return found


def _write(plan: Plan, actor_id: int | None, now: datetime) -> None:
    """Insert everything the plan creates: one bulk INSERT per table."""
    ids = _insert_returning(Agency.__table__, [
        {"name": a.name, "sector": a.sector, "active": False, "created_at": now} for a in plan.new_agencies.values()],
        "name")
    for agency in plan.new_agencies.values():
        agency.id = ids[agency.name]
    agency_ids = {**plan.agencies, **{k: a.id for k, a in plan.new_agencies.items()}}

    ids = _insert_returning(Course.__table__, [
        {"title": c.title, "summary": IMPORTED_SUMMARY, "learning_outcomes": NOT_RECORDED, "level": DEFAULT_LEVEL,
         "duration_minutes": c.duration, "format": c.format, "refresher_months": None, "active": False,
         "created_at": now} for c in plan.new_courses.values()], "title")
    for course in plan.new_courses.values():
        course.id = ids[course.title]
    course_ids = {**plan.courses, **{k: c.id for k, c in plan.new_courses.items()}}

    new_people = list(plan.new_people.values())
    _insert(User.__table__, [
        {"email": p.email, "name": p.name, "password_hash": _unusable_password(), "agency_id": agency_ids[p.agency_key],
         "job_title": NOT_RECORDED, "manager_name": NOT_RECORDED, "manager_email": NOT_RECORDED,
         "consent_updates": False, "active": True, "created_at": now} for p in new_people])
    ids = _existing_people(p.email for p in new_people) if new_people else {}
    for person in new_people:
        person.id = ids[person.email]
    _insert(RoleGrant.__table__, [{"user_id": p.id, "role": Role.PROFESSIONAL, "granted_at": now,
                                   "granted_by_id": actor_id} for p in new_people])
    person_ids = {**plan.people, **{e: p.id for e, p in plan.new_people.items()}}

    new_sessions = list(plan.new_sessions.values())
    ids = _insert_returning(CourseSession.__table__, [
        # A past session's capacity is not known: it is taken as the number of people the file
        # records on it, so the session is shown as full rather than with places to spare.
        {"course_id": course_ids[s.course_key], "starts_at": s.starts_at, "ends_at": s.ends_at, "venue": None,
         "online_link": None, "capacity": max(1, s.rows), "places_taken": s.confirmed,
         "booking_closes_at": s.starts_at, "status": SessionStatus.SCHEDULED, "kind": s.kind, "created_at": now}
        for s in new_sessions], "course_id", "starts_at")
    for new_session in new_sessions:
        new_session.id = ids[(course_ids[new_session.course_key], new_session.starts_at)]
    _insert(Register.__table__, [{"session_id": s.id, "completed_at": s.ends_at, "completed_by_id": actor_id}
                                 for s in new_sessions])

    session_ids: dict[tuple[str, datetime], int] = {k: s.id for k, s in plan.sessions.items()}
    session_ids.update({k: s.id for k, s in plan.new_sessions.items()})
    session_ends = {k: s.ends_at for k, s in plan.sessions.items()}
    session_ends.update({k: s.ends_at for k, s in plan.new_sessions.items()})
    free = {s.id: s.capacity - s.places_taken for s in plan.sessions.values()}

    rows = [row for row, new in zip(plan.rows, plan.new, strict=True) if new]
    bookings = []
    for row in rows:
        session_id = session_ids[row.session_key]
        confirmed = row.status in _PLACE_HOLDING
        overbooked = False
        if confirmed and session_id in free:
            free[session_id] -= 1
            overbooked = free[session_id] < 0
        bookings.append({
            "session_id": session_id, "user_id": person_ids[row.attendee_email],
            "status": BookingStatus.CONFIRMED if confirmed else BookingStatus.LATE_CANCELLED,
            "queued_at": row.starts_at, "created_at": now, "created_by_id": actor_id,
            "status_changed_at": row.starts_at, "confirmed_at": row.starts_at if confirmed else None,
            "offered_at": None, "offer_expires_at": None, "overbooked": overbooked, "previous_booking_id": None,
            "note": BOOKING_NOTE})
    _insert(Booking.__table__, bookings)
    scope = _write_scope(rows, course_ids)
    by_pair = _ids_in_scope(select(Booking.id, Booking.session_id, Booking.user_id)
                            .join(CourseSession, CourseSession.id == Booking.session_id), scope) if bookings else {}
    booking_ids = [by_pair[(b["session_id"], b["user_id"])] for b in bookings]

    _insert(Attendance.__table__, [
        {"session_id": booking["session_id"], "booking_id": booking_id, "user_id": booking["user_id"],
         "attendee_name": row.attendee_name, "attendee_email": row.attendee_email,
         "agency_id": agency_ids[row.agency_key], "outcome": _OUTCOMES[row.status], "walk_in": False,
         "recorded_by_id": actor_id, "recorded_at": now}
        for row, booking, booking_id in zip(rows, bookings, booking_ids, strict=True) if row.status in _OUTCOMES])

    evaluated = [(row, booking, booking_id) for row, booking, booking_id in zip(rows, bookings, booking_ids, strict=True)
                 if row.status is RecordStatus.ATTENDED and (row.rating is not None or row.comment)]
    if evaluated:
        question_set_id, overall_id, comments_id = _after_questions()
        if comments_id is None and any(row.comment for row, _b, _i in evaluated):
            raise RuntimeError("the after-course questions have no 'comments' question")
        _insert(Evaluation.__table__, [
            {"booking_id": booking_id, "session_id": booking["session_id"], "stage": Stage.AFTER,
             "question_set_id": question_set_id, "status": EvaluationStatus.SUBMITTED, "created_at": now,
             "updated_at": now, "submitted_at": session_ends[row.session_key]}
            for row, booking, booking_id in evaluated])
        by_booking = _ids_in_scope(select(Evaluation.id, Evaluation.booking_id)
                                   .join(CourseSession, CourseSession.id == Evaluation.session_id)
                                   .where(Evaluation.stage == Stage.AFTER), scope)
        answers = []
        for row, _booking, booking_id in evaluated:
            evaluation_id = by_booking[booking_id]
            if row.rating is not None:
                answers.append({"evaluation_id": evaluation_id, "question_id": overall_id, "outcome_index": 0,
                                "outcome_text": None, "rating": None, "choice": row.rating.value, "text": None,
                                "quotable": False})
            if row.comment:
                answers.append({"evaluation_id": evaluation_id, "question_id": comments_id, "outcome_index": 0,
                                "outcome_text": None, "rating": None, "choice": None, "text": row.comment,
                                "quotable": False})
        _insert(Answer.__table__, answers)

    extra = [{"session": session_id, "extra": count} for session_id, count in plan.extra_places.items() if count]
    if extra:
        table = CourseSession.__table__
        db.session.connection().execute(
            update(table).where(table.c.id == bindparam("session"))
            .values(places_taken=table.c.places_taken + bindparam("extra")), extra)


def _unusable_password() -> str:
    """A hash no password matches: Werkzeug's check_password_hash is False for it. The person
    sets a password of their own to sign in; hashing a random one each would take minutes."""
    return "!" + secrets.token_urlsafe(16)


def _serialise_imports() -> None:
    """Imports take turns. SQLite's BEGIN IMMEDIATE already does this; on PostgreSQL two
    imports could otherwise both create the same session, which has no unique key."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE history_imports IN EXCLUSIVE MODE"))


def _import(parsed: ParsedFile, actor: User | None, now: datetime) -> Counts:
    """Inside the caller's write transaction, after _serialise_imports(): plan again against
    what the database holds now, and write."""
    plan = build_plan(parsed)
    if plan.problems:
        raise InvalidHistoryFile(plan.problems)
    _write(plan, actor.id if actor else None, now)
    return plan.counts


def _audit(actor: User | None, action: str, history_import: HistoryImport, summary: str, now: datetime) -> None:
    """An audit event in the same transaction; `summary` may name the import as {id}. Ids and
    counts only: no file name, which could name people."""
    db.session.flush()
    record(actor, action, "history_import", history_import.id, summary.format(id=history_import.id), now)


def _summary(counts: Counts) -> str:
    return (f"{counts.new_rows} new rows, {counts.already_recorded} already recorded; created {counts.courses} "
            f"courses, {counts.sessions} sessions, {counts.agencies} agencies, {counts.people} people, "
            f"{counts.bookings} bookings, {counts.attendances} attendances, {counts.evaluations} evaluations")


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    """A previewed file and what importing it would do now; `problems` if it can no longer be imported."""

    history_import: HistoryImport
    plan: Plan | None
    problems: list[Problem]


def preview_file(data: bytes | str, now: datetime | None = None) -> Plan:
    """What importing a file would do, writing nothing. Raises InvalidHistoryFile."""
    now = now or utcnow()
    parsed = parse(data, now)
    plan = build_plan(parsed)
    if plan.problems:
        raise InvalidHistoryFile(plan.problems)
    warning = _same_file_warning(parsed.sha256)
    if warning:
        plan.warnings.insert(0, warning)
    return plan


def upload(data: bytes, filename: str, actor: User, now: datetime | None = None) -> HistoryImport:
    """Check an uploaded file and keep it for its preview. Raises InvalidHistoryFile (nothing kept)."""
    now = now or utcnow()
    parsed = parse(data, now)
    plan = build_plan(parsed)  # read-only: the write lock is taken only to store the file
    if plan.problems:
        raise InvalidHistoryFile(plan.problems)
    with write_transaction():
        history_import = HistoryImport(
            filename=_clean_filename(filename), sha256=parsed.sha256, content=parsed.text, row_count=len(parsed.rows),
            status=ImportStatus.PREVIEWED, uploaded_by_id=actor.id, uploaded_at=now)
        db.session.add(history_import)
        _audit(actor, "history.uploaded", history_import,
               f"Uploaded history file {{id}} with {len(parsed.rows)} rows", now)
    return history_import


def _clean_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or "history.csv"


_WITHOUT_CONTENT = (HistoryImport.id, HistoryImport.filename, HistoryImport.sha256, HistoryImport.row_count,
                    HistoryImport.status, HistoryImport.uploaded_by_id, HistoryImport.uploaded_at,
                    HistoryImport.imported_at, HistoryImport.counts_json)


def get_import(import_id: int) -> HistoryImport:
    """One import, without its stored file. Raises ImportNotFound."""
    history_import = db.session.get(HistoryImport, import_id, options=[load_only(*_WITHOUT_CONTENT)])
    if history_import is None:
        raise ImportNotFound()
    return history_import


def preview(import_id: int, now: datetime | None = None) -> Preview:
    """An import's page: for a file waiting for confirmation, what importing it would do now."""
    now = now or utcnow()
    history_import = get_import(import_id)
    if history_import.status != ImportStatus.PREVIEWED:
        return Preview(history_import, None, [])
    content = db.session.scalar(select(HistoryImport.content).where(HistoryImport.id == import_id))
    try:
        plan = preview_file(content or "", now)
    except InvalidHistoryFile as exc:
        return Preview(history_import, None, exc.problems)
    return Preview(history_import, plan, [])


def _not_pending(history_import: HistoryImport) -> ImportNotPending:
    if history_import.status == ImportStatus.IMPORTED:
        when = format_datetime(history_import.imported_at) if history_import.imported_at else "earlier"
        return ImportNotPending(f"This file was already imported on {when}: it cannot be imported again")
    return ImportNotPending("This file was discarded, so it cannot be imported: upload it again to import it")


def _locked_import(import_id: int) -> HistoryImport:
    history_import = db.session.scalar(
        select(HistoryImport).options(load_only(*_WITHOUT_CONTENT)).where(HistoryImport.id == import_id)
        .with_for_update().execution_options(populate_existing=True))
    if history_import is None:
        raise ImportNotFound()
    return history_import


def confirm(import_id: int, actor: User, now: datetime | None = None) -> HistoryImport:
    """Import a previewed file: the stored file is read again, so what is imported is what was
    previewed, checked against the database as it is now. All or nothing."""
    now = now or utcnow()
    history_import = get_import(import_id)
    if history_import.status != ImportStatus.PREVIEWED:
        raise _not_pending(history_import)
    # A stored file never changes (it is only cleared), so it is read and checked before the
    # write lock is taken: on SQLite that lock holds up every other writer.
    content = db.session.scalar(select(HistoryImport.content).where(HistoryImport.id == import_id))
    parsed = parse(content or "", now)
    try:
        with write_transaction():
            _serialise_imports()
            history_import = _locked_import(import_id)
            if history_import.status != ImportStatus.PREVIEWED:
                raise _not_pending(history_import)
            counts = _import(parsed, actor, now)
            history_import.status = ImportStatus.IMPORTED
            history_import.imported_at = now
            history_import.counts_json = counts.to_json()
            history_import.content = None  # the records are the data now
            _audit(actor, "history.imported", history_import,
                   f"Imported history file {{id}}: {_summary(counts)}", now)
    except IntegrityError as exc:
        raise ImportConflict() from exc
    return history_import


def discard(import_id: int, actor: User, now: datetime | None = None) -> HistoryImport:
    """Throw away a previewed file without importing it."""
    now = now or utcnow()
    with write_transaction():
        history_import = _locked_import(import_id)
        if history_import.status != ImportStatus.PREVIEWED:
            raise _not_pending(history_import)
        history_import.status = ImportStatus.DISCARDED
        history_import.content = None
        _audit(actor, "history.discarded", history_import, "Discarded history file {id}", now)
    return history_import


def import_file(data: bytes | str, filename: str, actor: User | None = None, now: datetime | None = None) -> Counts:
    """Check and import a file in one go (the command line). Raises InvalidHistoryFile."""
    now = now or utcnow()
    parsed = parse(data, now)
    try:
        with write_transaction():
            _serialise_imports()
            counts = _import(parsed, actor, now)
            history_import = HistoryImport(
                filename=_clean_filename(filename), sha256=parsed.sha256, content=None, row_count=len(parsed.rows),
                status=ImportStatus.IMPORTED, uploaded_by_id=actor.id if actor else None, uploaded_at=now,
                imported_at=now, counts_json=counts.to_json())
            db.session.add(history_import)
            _audit(actor, "history.imported", history_import,
                   f"Imported history file {{id}}: {_summary(counts)}", now)
    except IntegrityError as exc:
        raise ImportConflict() from exc
    return counts


@dataclass(frozen=True)
class PastImport:
    history_import: HistoryImport
    uploaded_by: str | None  # the uploader's name; None for the command line or an erased account

    @property
    def counts(self) -> Counts:
        return Counts.from_json(self.history_import.counts_json)


def recent_imports(limit: int = 20) -> list[PastImport]:
    """The latest uploads and imports, newest first, without their stored files."""
    rows = db.session.execute(
        select(HistoryImport, User.name)
        .options(load_only(HistoryImport.id, HistoryImport.filename, HistoryImport.row_count, HistoryImport.status,
                           HistoryImport.uploaded_at, HistoryImport.imported_at, HistoryImport.counts_json,
                           HistoryImport.uploaded_by_id))
        .outerjoin(User, User.id == HistoryImport.uploaded_by_id)
        .order_by(HistoryImport.uploaded_at.desc(), HistoryImport.id.desc()).limit(limit)).all()
    return [PastImport(history_import, name) for history_import, name in rows]
