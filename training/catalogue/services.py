"""Catalogue operations: courses, their sessions, and the public search.

Each writing function is one coordinator action in one write transaction. They are given
the acting person and `now` by the caller and never look at the request. Rules live here,
not in forms: a form checks that what was typed can be read; these functions decide whether
it is allowed, and report every problem at once (InvalidDetails) so a form can show them all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, joinedload, lazyload

from ..accounts.models import Role, RoleGrant, User
from ..db import utcnow, write_transaction
from ..extensions import db
from ..timeutil import london_to_utc, to_london
from . import signals
from .errors import InvalidDetails, NotCoordinator, SessionNotEditable
from .models import Course, CourseFormat, CourseSession, CourseTheme, Level, SessionKind, SessionStatus, Theme

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
VENUE_MAX_LENGTH = 1000
LINK_MAX_LENGTH = 500
# Sanity limits: a typo of 2000 places or a 100-year refresher is a mistake, not a plan.
MAX_CAPACITY = 1000
MAX_REFRESHER_MONTHS = 120
MAX_DURATION_MINUTES = 100 * 60
# Booking closes at this London time on the day before the session unless told otherwise.
DEFAULT_CLOSE_TIME = time(23, 59)

#: Formats whose sessions happen online and so need a joining link.
ONLINE_FORMATS = frozenset({CourseFormat.VIRTUAL, CourseFormat.E_LEARNING})
#: Formats whose sessions happen in a room and so need a venue.
IN_PERSON_FORMATS = frozenset({CourseFormat.FACE_TO_FACE, CourseFormat.WORKSHOP})

T = TypeVar("T")


# ---------------------------------------------------------------------------
# Values passed in by callers
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseDetails:
    """What a coordinator enters for a course."""

    title: str
    summary: str
    learning_outcomes: str
    level: Level
    duration_minutes: int
    format: CourseFormat
    themes: tuple[Theme, ...]
    refresher_months: int | None = None
    active: bool = True  # shown in the public catalogue and open for booking; False: a draft
    requires_approval: bool = False  # a person's own booking waits for their line manager's approval


@dataclass(frozen=True)
class SessionDetails:
    """What a coordinator enters for a session; times are aware UTC datetimes."""

    starts_at: datetime
    ends_at: datetime
    capacity: int
    #: Training session or workshop: annual reports count them separately.
    kind: SessionKind
    venue: str | None = None
    online_link: str | None = None
    trainer_ids: tuple[int, ...] = ()
    #: None means the default: 23:59 London time on the day before the session.
    booking_closes_at: datetime | None = None


@dataclass(frozen=True)
class SessionDraft:
    """A new session pre-filled from an existing one; the coordinator picks the date."""

    course_id: int
    start_time: time
    end_time: time
    capacity: int
    kind: SessionKind
    venue: str | None
    online_link: str | None
    trainer_ids: tuple[int, ...]


@dataclass(frozen=True)
class CatalogueFilters:
    """The public catalogue's filters; empty means no filtering."""

    themes: tuple[Theme, ...] = ()
    formats: tuple[CourseFormat, ...] = ()
    #: The first day of a London calendar month.
    month: date | None = None
    available_only: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results; `number` is 1-based and always within range."""

    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.total else 0


# ---------------------------------------------------------------------------
# Pure rules
# ---------------------------------------------------------------------------

def default_booking_close(starts_at: datetime) -> datetime:
    """23:59 London time on the day before the session starts."""
    day_before = to_london(starts_at).date() - timedelta(days=1)
    return london_to_utc(day_before, DEFAULT_CLOSE_TIME)


def default_session_kind(course: Course) -> SessionKind:
    """The type a new session of `course` is offered as: a workshop-format course runs workshops."""
    return SessionKind.WORKSHOP if course.format is CourseFormat.WORKSHOP else SessionKind.TRAINING


def is_https_url(value: str) -> bool:
    """An absolute https:// address with a host and no spaces."""
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname) and "." in parts.hostname


def month_starts(now: datetime, count: int = 12) -> list[date]:
    """The first days of this London month and the `count - 1` after it."""
    first = to_london(now).date().replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = _next_month(first)
    return months


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _clean_text(value: str | None) -> str:
    return (value or "").strip()


def _clean_lines(value: str | None) -> str:
    """One item per line, without blank lines or stray spaces."""
    return "\n".join(line.strip() for line in (value or "").splitlines() if line.strip())


def _course_problems(details: CourseDetails, course_id: int | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    title = _clean_text(details.title)
    if not title:
        problems["title"] = "Enter the course title"
    elif len(title) > TITLE_MAX_LENGTH:
        problems["title"] = f"Course title must be {TITLE_MAX_LENGTH} characters or fewer"
    elif _title_taken(title, course_id):
        problems["title"] = "There is already a course with this title. Enter a different title"
    if not _clean_text(details.summary):
        problems["summary"] = "Enter a summary of the course"
    elif len(details.summary) > TEXT_MAX_LENGTH:
        problems["summary"] = f"Summary must be {TEXT_MAX_LENGTH:,} characters or fewer"
    if not _clean_lines(details.learning_outcomes):
        problems["learning_outcomes"] = "Enter at least one learning outcome"
    elif len(details.learning_outcomes) > TEXT_MAX_LENGTH:
        problems["learning_outcomes"] = f"Learning outcomes must be {TEXT_MAX_LENGTH:,} characters or fewer"
    if details.duration_minutes < 1:
        problems["duration"] = "Duration must be at least 1 minute"
    elif details.duration_minutes > MAX_DURATION_MINUTES:
        problems["duration"] = f"Duration must be {MAX_DURATION_MINUTES // 60} hours or less"
    if not details.themes:
        problems["themes"] = "Select at least one priority theme"
    if details.refresher_months is not None and not 1 <= details.refresher_months <= MAX_REFRESHER_MONTHS:
        problems["refresher_months"] = f"Refresher interval must be between 1 and {MAX_REFRESHER_MONTHS} months"
    return problems


def _title_taken(title: str, course_id: int | None) -> bool:
    # Case-insensitive, so "Neglect" and "neglect" cannot both appear in the catalogue.
    stmt = select(Course.id).where(func.lower(Course.title) == title.lower())
    if course_id is not None:
        stmt = stmt.where(Course.id != course_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _session_problems(details: SessionDetails, course: Course, now: datetime,
                      current: CourseSession | None = None) -> dict[str, str]:
    """Every rule a session's details break; `current` is the locked session being edited."""
    problems: dict[str, str] = {}
    if details.starts_at <= now:
        problems["starts_at"] = "The session must start in the future"
    if details.ends_at <= details.starts_at:
        problems["ends_at"] = "The end time must be after the start time"

    if details.capacity < 1:
        problems["capacity"] = "Number of places must be 1 or more"
    elif details.capacity > MAX_CAPACITY:
        problems["capacity"] = f"Number of places must be {MAX_CAPACITY:,} or fewer"
    elif current is not None and details.capacity < current.capacity and details.capacity < current.places_taken:
        # Only a reduction is refused: an overbooked session may still be edited otherwise.
        taken = current.places_taken
        problems["capacity"] = (
            f"Number of places cannot be lower than the {taken} place{'s' if taken != 1 else ''} "
            "already taken by confirmed bookings and open offers"
        )

    if details.kind not in tuple(SessionKind):
        problems["kind"] = "Select the type of session"

    venue = _clean_text(details.venue)
    link = _clean_text(details.online_link)
    if course.format in IN_PERSON_FORMATS and not venue:
        problems["venue"] = "Enter the venue address"
    elif len(venue) > VENUE_MAX_LENGTH:
        problems["venue"] = f"Venue must be {VENUE_MAX_LENGTH:,} characters or fewer"
    if link:
        if len(link) > LINK_MAX_LENGTH:
            problems["online_link"] = f"Joining link must be {LINK_MAX_LENGTH} characters or fewer"
        elif not is_https_url(link):
            problems["online_link"] = (
                "Enter a joining link in the correct format, starting with https://, "
                "like https://meet.example.org/session"
            )
    elif course.format in ONLINE_FORMATS:
        problems["online_link"] = "Enter the joining link for this online session"

    if details.trainer_ids:
        allowed = _trainer_ids() | ({t.id for t in current.trainers} if current is not None else set())
        if not set(details.trainer_ids) <= allowed:
            problems["trainer_ids"] = "Select trainers from the list"

    closes = details.booking_closes_at
    if closes is not None and closes > details.starts_at:
        problems["booking_closes_at"] = "Booking must close before the session starts"
    return problems


def _require_coordinator(actor: User) -> None:
    if not actor.is_coordinator:
        raise NotCoordinator()


def _check_editable(session: CourseSession, now: datetime) -> None:
    if session.is_cancelled:
        raise SessionNotEditable("You cannot change a session that has been cancelled")
    if session.has_started(now):
        raise SessionNotEditable("You cannot change a session that has already started")


def check_editable(session: CourseSession, now: datetime | None = None) -> None:
    """Raise SessionNotEditable when a session is cancelled or has started."""
    _check_editable(session, now or utcnow())


# ---------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------

def _apply_course(course: Course, details: CourseDetails) -> None:
    course.title = _clean_text(details.title)
    course.summary = details.summary.strip()
    course.learning_outcomes = _clean_lines(details.learning_outcomes)
    course.level = Level(details.level)
    course.duration_minutes = details.duration_minutes
    course.active = details.active
    course.format = CourseFormat(details.format)
    course.themes = details.themes
    course.refresher_months = details.refresher_months
    course.requires_approval = details.requires_approval


def _flush_course() -> None:
    """Flush, turning a lost race for the unique title into the same message as the check."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise InvalidDetails({"title": "There is already a course with this title. Enter a different title"}) from exc


def create_course(actor: User, details: CourseDetails, *, now: datetime | None = None) -> Course:
    """Add a course to the catalogue."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        problems = _course_problems(details, None)
        if problems:
            raise InvalidDetails(problems)
        course = Course(created_at=now)
        _apply_course(course, details)
        db.session.add(course)
        _flush_course()
    return course


def update_course(course_id: int, actor: User, details: CourseDetails, *, now: datetime | None = None) -> Course:
    """Change a course's details; its sessions keep their own dates and places."""
    _require_coordinator(actor)
    with write_transaction():
        course = db.session.get(Course, course_id)
        if course is None:
            raise LookupError(course_id)
        problems = _course_problems(details, course_id)
        if problems:
            raise InvalidDetails(problems)
        _apply_course(course, details)
        _flush_course()
    return course


def duplicate_course(course_id: int, actor: User, *, now: datetime | None = None) -> Course:
    """Copy a course (not its sessions) as "Copy of <title>", to be edited."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        source = db.session.get(Course, course_id)
        if source is None:
            raise LookupError(course_id)
        copy = Course(
            title=_copy_title(source.title),
            summary=source.summary,
            learning_outcomes=source.learning_outcomes,
            level=source.level,
            duration_minutes=source.duration_minutes,
            format=source.format,
            refresher_months=source.refresher_months,
            created_at=now,
        )
        copy.themes = source.themes
        db.session.add(copy)
        _flush_course()
    return copy


def _copy_title(title: str) -> str:
    """"Copy of X", then "Copy of X (2)" and so on, within the title length."""
    base = f"Copy of {title}"
    taken = {
        t.lower()
        for t in db.session.scalars(select(Course.title).where(func.lower(Course.title).startswith(
            base[:TITLE_MAX_LENGTH - 6].lower(), autoescape=True)))
    }
    candidate = base[:TITLE_MAX_LENGTH]
    number = 2
    while candidate.lower() in taken:
        suffix = f" ({number})"
        candidate = base[:TITLE_MAX_LENGTH - len(suffix)] + suffix
        number += 1
    return candidate


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------

def lock_session(session_id: int) -> CourseSession:
    """The session row, locked for the rest of the write transaction (LookupError if absent).

    Every change that depends on a session's capacity or bookings takes this lock first:
    FOR UPDATE on PostgreSQL (OF course_sessions, so no other row is locked with it); on
    SQLite the write transaction's BEGIN IMMEDIATE already serialises writers. The course comes
    in the same query (every booking rule reads it); other relationships load lazily, only if
    the caller uses them, so the lock costs one query.
    """
    session = db.session.execute(_lock_statement(), {"session_id": session_id}).unique().scalar_one_or_none()
    if session is None:
        raise LookupError(session_id)
    return session


@cache
def _lock_statement() -> Select:
    """Built once: it runs on every booking, and making it costs more than running it."""
    return (
        select(CourseSession)
        .where(CourseSession.id == bindparam("session_id"))
        .options(lazyload("*"), joinedload(CourseSession.course).lazyload(Course.theme_rows))
        .with_for_update(of=CourseSession)
        .execution_options(populate_existing=True)
    )


def _trainer_ids() -> set[int]:
    return set(db.session.scalars(
        select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == Role.TRAINER, User.active)
    ))


def _apply_session(session: CourseSession, details: SessionDetails) -> None:
    session.starts_at = details.starts_at
    session.ends_at = details.ends_at
    session.capacity = details.capacity
    session.kind = SessionKind(details.kind)
    session.venue = _clean_text(details.venue) or None
    session.online_link = _clean_text(details.online_link) or None
    session.booking_closes_at = details.booking_closes_at or default_booking_close(details.starts_at)
    wanted = set(details.trainer_ids)
    if {t.id for t in session.trainers} != wanted:
        session.trainers = list(db.session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []


def create_session(course_id: int, actor: User, details: SessionDetails, *,
                   now: datetime | None = None) -> CourseSession:
    """Schedule a session of a course."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        course = db.session.get(Course, course_id)
        if course is None:
            raise LookupError(course_id)
        problems = _session_problems(details, course, now)
        if problems:
            raise InvalidDetails(problems)
        session = CourseSession(course=course, status=SessionStatus.SCHEDULED, places_taken=0, created_at=now)
        _apply_session(session, details)
        db.session.add(session)
        db.session.flush()
    return session


def update_session(session_id: int, actor: User, details: SessionDetails, *,
                   now: datetime | None = None) -> CourseSession:
    """Change a scheduled session; raising its capacity offers the new places to people waiting."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        session = lock_session(session_id)
        _check_editable(session, now)
        problems = _session_problems(details, session.course, now, current=session)
        if problems:
            raise InvalidDetails(problems)
        raised = details.capacity > session.capacity
        before = (session.starts_at, session.ends_at), session.venue, session.online_link
        _apply_session(session, details)
        db.session.flush()
        after = (session.starts_at, session.ends_at), session.venue, session.online_link
        changed = {name for name, old, new in zip(("time", "venue", "online_link"), before, after, strict=True)
                   if old != new}
        if raised:
            signals.capacity_raised.send(session, now=now)
        if changed:
            signals.session_changed.send(session, now=now, changed=changed)
    return session


def duplicate_session(session_id: int, actor: User, *, now: datetime | None = None) -> SessionDraft:
    """The details of a new session copied from `session_id`, for the coordinator to date."""
    _require_coordinator(actor)
    source = db.session.get(CourseSession, session_id)
    if source is None:
        raise LookupError(session_id)
    return SessionDraft(
        course_id=source.course_id,
        start_time=to_london(source.starts_at).time(),
        end_time=to_london(source.ends_at).time(),
        capacity=source.capacity,
        kind=source.kind,
        venue=source.venue,
        online_link=source.online_link,
        trainer_ids=tuple(t.id for t in source.trainers),
    )


def cancel_session(session_id: int, actor: User, reason: str, *, now: datetime | None = None) -> CourseSession:
    """Cancel a session; every booking and waiting-list place on it is released."""
    _require_coordinator(actor)
    now = now or utcnow()
    reason = _clean_text(reason)
    if not reason:
        raise InvalidDetails({"reason": "Enter the reason for cancelling the session"})
    if len(reason) > TEXT_MAX_LENGTH:
        raise InvalidDetails({"reason": f"Reason must be {TEXT_MAX_LENGTH:,} characters or fewer"})
    with write_transaction():
        session = lock_session(session_id)
        if not session.is_cancelled and session.has_started(now):
            raise SessionNotEditable("You cannot cancel a session that has already started")
        session.cancel(now, reason)
        db.session.flush()
        signals.session_cancelled.send(session, now=now)
    return session


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------

def get_course(course_id: int) -> Course | None:
    """The course, or None."""
    return db.session.get(Course, course_id)


def visible_in_catalogue(active: bool, viewer: User | None) -> bool:
    """Drafts and imported historic courses (not `active`) are seen by coordinators only."""
    return active or bool(viewer is not None and viewer.is_coordinator)


def in_catalogue(course: Course, viewer: User | None) -> bool:
    """Whether `viewer` may see the course in the catalogue (see visible_in_catalogue)."""
    return visible_in_catalogue(course.active, viewer)


def get_session(session_id: int) -> CourseSession | None:
    """The session, or None."""
    return db.session.get(CourseSession, session_id)


def trainers(include: tuple[int, ...] | list[int] = ()) -> list[User]:
    """Active people holding the trainer role, plus anyone in `include` (a session's current trainers)."""
    ids = _trainer_ids() | set(include)
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name, User.id)))


def paginate(stmt: Select, page: int, per_page: int, *, scalars: bool = True) -> Page:
    """One page of `stmt`'s results (its first column's, unless `scalars` is False: then whole
    rows, with the statement's columns only); a page number out of range gives the nearest page.

    One query, as each row carries the total (COUNT(*) OVER ()). Only a page past the end
    costs a count, and a second fetch for the last page.
    """
    # A page number from the URL can be any size; past the end is treated the same way.
    number = min(max(page, 1), 2**31 // per_page)
    counted = stmt.add_columns(func.count().over().label("_total"))
    width = len(stmt.selected_columns)

    def fetch(n: int) -> tuple[list, list]:
        """The page's rows, and the same rows without the total for `scalars=False`."""
        result = db.session.execute(counted.offset((n - 1) * per_page).limit(per_page))
        if scalars:
            return result.all(), []
        frozen = result.freeze()
        return frozen().all(), frozen().columns(*range(width)).all()

    rows, plain = fetch(number)
    if rows or number == 1:
        total = rows[0][-1] if rows else 0
    else:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        last = max(1, math.ceil(total / per_page))
        if number > last:
            number = last
            rows, plain = fetch(number) if total else ([], [])
    items = [row[0] for row in rows] if scalars else plain
    return Page(items=items, number=number, per_page=per_page, total=total)


def _upcoming(now: datetime) -> Select:
    # Lists show neither trainers nor themes: keep them out of the queries.
    return (
        select(CourseSession)
        .where(CourseSession.status == SessionStatus.SCHEDULED, CourseSession.starts_at > now)
        .options(lazyload(CourseSession.trainers), defaultload(CourseSession.course).lazyload(Course.theme_rows))
        .order_by(CourseSession.starts_at, CourseSession.id)
    )


def search_sessions(filters: CatalogueFilters, *, page: int = 1, per_page: int = 10,
                    now: datetime | None = None) -> Page[CourseSession]:
    """Upcoming scheduled sessions matching the filters, soonest first, one page of them.

    Within a filter any chosen value matches (neglect OR exploitation); different filters
    must all match. Two queries whatever the data size, plus one for the courses' themes.
    """
    now = now or utcnow()
    # Drafts and imported historic courses are not in the public catalogue.
    stmt = _upcoming(now).where(CourseSession.course_id.in_(select(Course.id).where(Course.active)))
    if filters.themes:
        stmt = stmt.where(CourseSession.course_id.in_(
            select(CourseTheme.course_id).where(CourseTheme.theme.in_(filters.themes))))
    if filters.formats:
        stmt = stmt.where(CourseSession.course_id.in_(
            select(Course.id).where(Course.format.in_(filters.formats))))
    if filters.month is not None:
        start = london_to_utc(filters.month, time(0, 0))
        end = london_to_utc(_next_month(filters.month), time(0, 0))
        stmt = stmt.where(CourseSession.starts_at >= start, CourseSession.starts_at < end)
    if filters.available_only:
        # A place you cannot book is not available: the session must also still be open.
        stmt = stmt.where(~CourseSession.is_full, CourseSession.booking_closes_at > now)
    return paginate(stmt, page, per_page)


def upcoming_sessions(*, page: int = 1, per_page: int = 10, now: datetime | None = None) -> Page[CourseSession]:
    """Every upcoming scheduled session, soonest first, for coordinators."""
    return paginate(_upcoming(now or utcnow()), page, per_page)


def course_upcoming_sessions(course_id: int, now: datetime | None = None) -> list[CourseSession]:
    """A course's upcoming scheduled sessions, soonest first."""
    now = now or utcnow()
    return list(db.session.scalars(_upcoming(now).where(CourseSession.course_id == course_id)))


@dataclass(frozen=True)
class CourseSessions:
    upcoming: list[CourseSession]
    past: list[CourseSession]


def course_sessions(course_id: int, now: datetime | None = None) -> CourseSessions:
    """All of a course's sessions, cancelled ones included: upcoming soonest first, past latest first."""
    now = now or utcnow()
    rows = list(db.session.scalars(
        select(CourseSession).where(CourseSession.course_id == course_id)
        .order_by(CourseSession.starts_at, CourseSession.id)
    ))
    upcoming = [s for s in rows if s.starts_at > now]
    past = [s for s in rows if s.starts_at <= now]
    past.reverse()
    return CourseSessions(upcoming, past)


def courses_with_upcoming_counts(now: datetime | None = None) -> list[tuple[Course, int]]:
    """Every course by title, with its number of upcoming scheduled sessions."""
    now = now or utcnow()
    counts = (
        select(CourseSession.course_id, func.count(CourseSession.id).label("n"))
        .where(CourseSession.status == SessionStatus.SCHEDULED, CourseSession.starts_at > now)
        .group_by(CourseSession.course_id)
        .subquery()
    )
    stmt = (
        select(Course, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.course_id == Course.id)
        .order_by(func.lower(Course.title), Course.id)
    )
    return [(course, n) for course, n in db.session.execute(stmt)]
