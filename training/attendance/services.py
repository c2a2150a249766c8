"""Attendance operations: taking a session's register, walk-ins, and counts for reports.

Each write is one user action in one write transaction. The session row is locked first (as
the booking services do), so two people saving the same register take turns and the
insert-or-update of each Attendance row cannot race.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, joinedload, lazyload

from ..accounts.models import Agency, User
from ..audit import services as audit
from ..booking.models import Booking, BookingStatus
from ..catalogue.models import Course, CourseSession, session_trainers
from ..catalogue.services import lock_session
from ..db import MAX_ID, utcnow, write_transaction
from ..extensions import db
from ..timeutil import format_date, format_time
from .errors import (
    AlreadyOnRegister,
    AttendanceError,
    InvalidOutcome,
    NotOnRegister,
    NotSessionTrainer,
    RegisterCompleted,
    RegisterIncomplete,
    RegisterNotOpen,
    SessionWasCancelled,
    WalkInAgencyMissing,
    WalkInEmailInvalid,
    WalkInNameMissing,
    WalkInNotFound,
    WalkInOutcomeInvalid,
)
from .models import Attendance, AttendanceOutcome, Register

#: How far back "My sessions" looks for sessions whose register may still need taking.
RECENT_DAYS = 90
NAME_MAX = 200
EMAIL_MAX = 254


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class RegisterStatus(enum.StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    COMPLETE = "complete"

    @property
    def label(self) -> str:
        return {"not-started": "Not started", "in-progress": "In progress", "complete": "Complete"}[self.value]


def _status(completed: bool, marked: bool) -> RegisterStatus:
    if completed:
        return RegisterStatus.COMPLETE
    return RegisterStatus.IN_PROGRESS if marked else RegisterStatus.NOT_STARTED


# ---------------------------------------------------------------------------
# Who may change a register, and when
# ---------------------------------------------------------------------------

def may_take_register(session: CourseSession, actor: User) -> bool:
    """The session's own trainers and any coordinator."""
    return actor.is_coordinator or session.is_trainer(actor)


def edit_refusal(session: CourseSession, register: Register | None, actor: User,
                 now: datetime) -> AttendanceError | None:
    """Why `actor` cannot change this register now, or None when they can.

    A completed register is the trainer's signed-off record, so after completion only a
    coordinator may correct it.
    """
    if not may_take_register(session, actor):
        return NotSessionTrainer()
    if session.is_cancelled:
        return SessionWasCancelled()
    if not session.has_started(now):
        return RegisterNotOpen(
            f"You can take the register from {format_time(session.starts_at)} on "
            f"{format_date(session.starts_at)}, when the session starts"
        )
    if register is not None and register.is_complete and not actor.is_coordinator:
        return RegisterCompleted()
    return None


def _check_can_edit(session: CourseSession, register: Register | None, actor: User, now: datetime) -> None:
    refusal = edit_refusal(session, register, actor, now)
    if refusal is not None:
        raise refusal


def _lock_session(session_id: int) -> CourseSession:
    if not _is_id(session_id):
        raise LookupError(session_id)
    return lock_session(session_id)


# Who completed the register, with their agency, as a chain of LEFT JOINs: the models' nested
# "LEFT JOIN (users JOIN agencies)" makes SQLite build that join for every user first.
_REGISTER_OPTIONS = (joinedload(Register.completed_by).joinedload(User.agency, innerjoin="unnested"),)


def _register(session_id: int) -> Register | None:
    return db.session.get(Register, session_id, populate_existing=True, options=_REGISTER_OPTIONS)


# ---------------------------------------------------------------------------
# Marking booked people
# ---------------------------------------------------------------------------

def _parse_marks(marks: Mapping[int, AttendanceOutcome | str]) -> dict[int, AttendanceOutcome]:
    """Check the shape of the marks before anything is read or written."""
    parsed: dict[int, AttendanceOutcome] = {}
    for booking_id, outcome in marks.items():
        if not _is_id(booking_id):
            raise NotOnRegister()
        try:
            parsed[booking_id] = AttendanceOutcome(outcome)
        except ValueError:
            raise InvalidOutcome() from None
    return parsed


def _apply_marks(session: CourseSession, outcomes: dict[int, AttendanceOutcome], actor: User,
                 now: datetime) -> int:
    """Create or update one Attendance per booking; returns how many changed."""
    if not outcomes:
        return 0
    bookings = {
        b.id: b
        for b in db.session.scalars(
            select(Booking).where(Booking.id.in_(sorted(outcomes))).options(lazyload(Booking.session))
        )
    }
    for booking_id in outcomes:
        booking = bookings.get(booking_id)
        # Every id is checked before anything is written, so a bad one changes nothing.
        if booking is None or booking.session_id != session.id or booking.status != BookingStatus.CONFIRMED:
            raise NotOnRegister()
    existing = {
        a.booking_id: a
        for a in db.session.scalars(select(Attendance).where(Attendance.booking_id.in_(sorted(outcomes))))
    }
    changed = 0
    for booking_id, outcome in outcomes.items():
        attendance = existing.get(booking_id)
        if attendance is None:
            person = bookings[booking_id].user
            # The agency is copied, so counts by agency stay right if the person moves on.
            db.session.add(Attendance(
                session_id=session.id, booking_id=booking_id, user_id=person.id,
                attendee_name=person.name, attendee_email=person.email, agency_id=person.agency_id,
                outcome=outcome, walk_in=False, recorded_by_id=actor.id, recorded_at=now,
            ))
            audit.attendance_marked(actor, session.id, booking_id, None, outcome, now)
            changed += 1
        elif attendance.outcome != outcome:
            audit.attendance_marked(actor, session.id, booking_id, attendance.outcome, outcome, now)
            attendance.outcome = outcome
            attendance.recorded_by_id = actor.id
            attendance.recorded_at = now
            changed += 1
    try:
        db.session.flush()
    except IntegrityError as exc:  # the unique constraints are the last line of defence
        raise AlreadyOnRegister() from exc
    return changed


def record_attendance(session_id: int, marks: Mapping[int, AttendanceOutcome | str], actor: User,
                      now: datetime | None = None) -> int:
    """Mark booked people as attended, partially attended or did not attend.

    `marks` maps booking ids (confirmed bookings of this session) to outcomes. Saving again
    updates the existing rows. Returns the number of people whose record changed.
    """
    now = now or utcnow()
    outcomes = _parse_marks(marks)
    with write_transaction():
        session = _lock_session(session_id)
        _check_can_edit(session, _register(session_id), actor, now)
        changed = _apply_marks(session, outcomes, actor, now)
    return changed


def _unmarked_count(session_id: int) -> int:
    return db.session.scalar(
        select(func.count(Booking.id))
        .outerjoin(Attendance, Attendance.booking_id == Booking.id)
        .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED,
               Attendance.id.is_(None))
    )


def complete_register(session_id: int, actor: User, now: datetime | None = None,
                      marks: Mapping[int, AttendanceOutcome | str] | None = None) -> Register:
    """Save any `marks`, then complete the register once everyone booked is marked.

    Completing again changes nothing, so a repeated click is harmless.
    """
    now = now or utcnow()
    outcomes = _parse_marks(marks or {})
    with write_transaction():
        session = _lock_session(session_id)
        register = _register(session_id)
        _check_can_edit(session, register, actor, now)
        _apply_marks(session, outcomes, actor, now)
        if register is not None and register.is_complete:
            return register
        unmarked = _unmarked_count(session_id)
        if unmarked:
            people = "person is" if unmarked == 1 else "people are"
            raise RegisterIncomplete(
                f"Mark attendance for everyone booked before you complete the register: "
                f"{unmarked} {people} not marked"
            )
        if register is None:
            register = Register(session_id=session_id)
            db.session.add(register)
        register.completed_at = now
        register.completed_by_id = actor.id
        audit.register_completed(actor, session_id, now)
    return register


# ---------------------------------------------------------------------------
# Walk-ins
# ---------------------------------------------------------------------------

def add_walk_in(session_id: int, *, name: str, email: str | None, agency_id: int | None,
                outcome: AttendanceOutcome | str, actor: User, now: datetime | None = None) -> Attendance:
    """Record someone who came without a booking.

    When the email belongs to an account the record is linked to it, and that account's
    agency is used unless an agency is chosen.
    """
    now = now or utcnow()
    name = " ".join((name or "").split())
    if not name:
        raise WalkInNameMissing()
    if len(name) > NAME_MAX:
        raise WalkInNameMissing(f"Full name must be {NAME_MAX} characters or fewer")
    email = (email or "").strip().lower() or None
    if email is not None and len(email) > EMAIL_MAX:
        raise WalkInEmailInvalid(f"Email address must be {EMAIL_MAX} characters or fewer")
    try:
        outcome = AttendanceOutcome(outcome)
    except ValueError:
        raise WalkInOutcomeInvalid() from None
    if not outcome.was_present:
        raise WalkInOutcomeInvalid()
    with write_transaction():
        session = _lock_session(session_id)
        _check_can_edit(session, _register(session_id), actor, now)
        person = db.session.scalar(select(User).where(User.email == email)) if email else None
        if agency_id is not None:
            agency = db.session.get(Agency, agency_id) if _is_id(agency_id) else None
            if agency is None or not agency.active:
                raise WalkInAgencyMissing("Select an agency from the list")
        elif person is not None:
            agency_id = person.agency_id
        else:
            raise WalkInAgencyMissing(
                "Select the person's agency" if not email else
                "Select the person's agency: there is no account with that email address"
            )
        if person is not None:
            _check_not_on_register(session_id, person)
        attendance = Attendance(
            session_id=session_id, booking_id=None, user_id=person.id if person else None,
            attendee_name=name, attendee_email=email, agency_id=agency_id, outcome=outcome,
            walk_in=True, recorded_by_id=actor.id, recorded_at=now,
        )
        db.session.add(attendance)
        try:
            db.session.flush()
        except IntegrityError as exc:
            raise AlreadyOnRegister() from exc
        audit.walk_in_added(actor, attendance, now)
    return attendance


def _check_not_on_register(session_id: int, person: User) -> None:
    booked = db.session.scalar(
        select(Booking.id).where(Booking.session_id == session_id, Booking.user_id == person.id,
                                 Booking.status == BookingStatus.CONFIRMED)
    )
    if booked is not None:
        raise AlreadyOnRegister(
            "The person with this email address is booked on this session: mark their attendance on the register"
        )
    recorded = db.session.scalar(
        select(Attendance.id).where(Attendance.session_id == session_id, Attendance.user_id == person.id)
    )
    if recorded is not None:
        raise AlreadyOnRegister("The person with this email address is already on the register for this session")


def remove_walk_in(session_id: int, attendance_id: int, actor: User, now: datetime | None = None) -> str:
    """Take a walk-in added by mistake off the register; returns their name."""
    now = now or utcnow()
    with write_transaction():
        session = _lock_session(session_id)
        _check_can_edit(session, _register(session_id), actor, now)
        attendance = db.session.get(Attendance, attendance_id) if _is_id(attendance_id) else None
        if attendance is None or attendance.session_id != session_id or not attendance.walk_in:
            raise WalkInNotFound()
        name = attendance.attendee_name
        audit.walk_in_removed(actor, attendance, now)
        db.session.delete(attendance)
    return name


# ---------------------------------------------------------------------------
# Reading a register
# ---------------------------------------------------------------------------

@dataclass
class RegisterRow:
    """A confirmed booking and its attendance, if marked."""

    booking: Booking
    attendance: Attendance | None

    @property
    def name(self) -> str:
        return self.booking.user.name

    @property
    def agency_name(self) -> str:
        # Once marked, the agency recorded then; before, the person's current agency.
        if self.attendance is not None:
            return self.attendance.agency.name
        return self.booking.user.agency.name

    @property
    def outcome(self) -> AttendanceOutcome | None:
        return self.attendance.outcome if self.attendance else None


@dataclass
class RegisterSheet:
    """Everything a register or sign-in sheet shows for one session."""

    session: CourseSession
    register: Register | None
    rows: list[RegisterRow]
    walk_ins: list[Attendance]

    @property
    def is_complete(self) -> bool:
        return self.register is not None and self.register.is_complete

    @property
    def status(self) -> RegisterStatus:
        marked = any(r.attendance for r in self.rows) or bool(self.walk_ins)
        return _status(self.is_complete, marked)

    @property
    def unmarked(self) -> int:
        return sum(1 for r in self.rows if r.attendance is None)

    def count(self, outcome: AttendanceOutcome) -> int:
        """People booked or walk-in with this outcome."""
        return sum(1 for r in self.rows if r.outcome == outcome) + sum(
            1 for a in self.walk_ins if a.outcome == outcome)


def _by_name(name: str) -> str:
    return name.casefold()


def register_for(session_id: int) -> RegisterSheet | None:
    """The session's register: each confirmed booking with its attendance, and the walk-ins."""
    session = db.session.get(CourseSession, session_id)
    if session is None:
        return None
    register = db.session.get(Register, session_id, options=_REGISTER_OPTIONS)
    pairs = db.session.execute(
        select(Booking, Attendance)
        .outerjoin(Attendance, Attendance.booking_id == Booking.id)
        .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
        .options(
            lazyload(Booking.session),  # already loaded
            defaultload(Booking.user).lazyload(User.grants),  # roles are not shown
            # The model's inner join would drop everyone not yet marked.
            joinedload(Attendance.agency, innerjoin=False),
        )
    ).all()
    rows = sorted((RegisterRow(b, a) for b, a in pairs), key=lambda r: (_by_name(r.name), r.booking.id))
    walk_ins = list(db.session.scalars(
        select(Attendance)
        .where(Attendance.session_id == session_id, Attendance.walk_in.is_(True))
        .order_by(Attendance.id)
    ))
    return RegisterSheet(session, register, rows, walk_ins)


# ---------------------------------------------------------------------------
# My sessions
# ---------------------------------------------------------------------------

@dataclass
class SessionSummary:
    session: CourseSession
    booked: int
    status: RegisterStatus


@dataclass
class MySessions:
    recent: list[SessionSummary]  # started in the last RECENT_DAYS days, latest first
    upcoming: list[SessionSummary]  # soonest first


def sessions_for(actor: User, now: datetime | None = None) -> MySessions:
    """A trainer's sessions (a coordinator's: everyone's), upcoming and recent, with register status."""
    now = now or utcnow()
    booked = (
        select(func.count(Booking.id))
        .where(Booking.session_id == CourseSession.id, Booking.status == BookingStatus.CONFIRMED)
        .correlate(CourseSession)
        .scalar_subquery()
    )
    marked = select(Attendance.id).where(Attendance.session_id == CourseSession.id).correlate(CourseSession).exists()
    stmt = (
        select(CourseSession, booked, Register.completed_at, marked)
        .outerjoin(Register, Register.session_id == CourseSession.id)
        .where(CourseSession.starts_at >= now - timedelta(days=RECENT_DAYS))
        .order_by(CourseSession.starts_at, CourseSession.id)
        .options(  # the list shows neither themes nor the trainers' roles
            defaultload(CourseSession.course).lazyload(Course.theme_rows),
            defaultload(CourseSession.trainers).lazyload(User.grants),
        )
    )
    if not actor.is_coordinator:
        stmt = stmt.where(CourseSession.id.in_(
            select(session_trainers.c.session_id).where(session_trainers.c.user_id == actor.id)
        ))
    recent, upcoming = [], []
    for session, booked_count, completed_at, any_marked in db.session.execute(stmt):
        summary = SessionSummary(session, booked_count, _status(completed_at is not None, bool(any_marked)))
        (recent if session.has_started(now) else upcoming).append(summary)
    recent.reverse()
    return MySessions(recent, upcoming)


# ---------------------------------------------------------------------------
# Counts for reports
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AttendanceCounts:
    """Attendance counted for one agency or one course.

    `walk_ins` are included in `attended`/`partial`; `sessions` is how many sessions had
    attendance recorded for this agency or course.
    """

    id: int
    name: str
    attended: int
    partial: int
    did_not_attend: int
    walk_ins: int
    sessions: int

    @property
    def present(self) -> int:
        return self.attended + self.partial

    @property
    def total(self) -> int:
        return self.attended + self.partial + self.did_not_attend


def _count_columns():
    def outcome_is(outcome: AttendanceOutcome):
        return func.sum(case((Attendance.outcome == outcome, 1), else_=0))

    return (
        outcome_is(AttendanceOutcome.ATTENDED),
        outcome_is(AttendanceOutcome.PARTIAL),
        outcome_is(AttendanceOutcome.DID_NOT_ATTEND),
        func.sum(case((Attendance.walk_in.is_(True), 1), else_=0)),
        func.count(func.distinct(Attendance.session_id)),
    )


def _counts(key_id, key_name, start: datetime, end: datetime, join_course: bool) -> list[AttendanceCounts]:
    stmt = select(key_id, key_name, *_count_columns()).join(CourseSession, CourseSession.id == Attendance.session_id)
    stmt = stmt.join(Course, Course.id == CourseSession.course_id) if join_course else stmt.join(
        Agency, Agency.id == Attendance.agency_id)
    stmt = (
        stmt.where(CourseSession.starts_at >= start, CourseSession.starts_at < end)
        .group_by(key_id, key_name)
        .order_by(key_name, key_id)
    )
    return [AttendanceCounts(*row) for row in db.session.execute(stmt)]


def attendance_by_agency(start: datetime, end: datetime) -> list[AttendanceCounts]:
    """Attendance per agency (as recorded at the time) for sessions starting in [start, end)."""
    return _counts(Agency.id, Agency.name, start, end, join_course=False)


def attendance_by_course(start: datetime, end: datetime) -> list[AttendanceCounts]:
    """Attendance per course for sessions starting in [start, end)."""
    return _counts(Course.id, Course.title, start, end, join_course=True)
