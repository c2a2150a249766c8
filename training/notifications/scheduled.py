"""The scheduled emails: the rules `flask tick` runs, and the certificate notice sent when a
delegate submits their after-course form.

Every message a rule raises carries a `dedupe_key` naming what it is about (the booking, and
for a reminder the session's start), so raising it again adds nothing: that is what makes
`tick` safe to run every few minutes, and twice at once. Each rule finds its candidates with
one set-based query and writes in its own transaction. Every rule looks back over a bounded
window, so the first run on a database with years of history does not email about old
sessions; each window is shorter than OUTBOX_RETENTION_DAYS, so a key is never purged while
its rule could still raise it again.

No message goes to a deactivated or anonymised account (anonymising also deactivates), and
none carries evaluation answers or comments.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import defaultload, lazyload

from ..accounts.models import User
from ..attendance.models import Attendance, AttendanceOutcome, Register
from ..booking import services as booking_services
from ..booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from ..catalogue.models import Course, CourseSession, SessionStatus
from ..certificates import services as certificates
from ..db import write_transaction
from ..evaluation.models import Evaluation, EvaluationStatus, Stage
from ..evaluation.services import follow_up_opens_at
from ..evaluation.signals import evaluation_submitted
from ..extensions import db
from ..needs.models import Requirement, WorkforceMembership
from ..needs.tna import latest_completions, london_today, status_for
from ..privacy.services import purge_sent_emails
from ..timeutil import format_date, format_datetime, format_time, to_london
from .models import MessageKind, Outbox
from .outbox import enqueue, external_url

log = logging.getLogger(__name__)

#: How long after a session ends its evaluation requests, certificate notices and no-show
#: notices may still be raised (a first run never reaches further back than this).
LOOK_BACK = timedelta(days=30)
#: How long after the follow-up form opens its emails may still be raised.
FOLLOW_UP_WINDOW = timedelta(days=14)
#: How long after a refresher's due date the notice may still be raised (overdue but recent).
REFRESHER_GRACE = timedelta(days=14)
#: A booking confirmed less than this long ago gets no reminder yet: the confirmation is fresh.
FRESH_CONFIRMATION = timedelta(hours=24)
#: Keys checked per query when filtering out messages already raised.
KEY_CHUNK = 500


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """One email a rule wants to raise, before it is rendered."""

    key: str
    kind: MessageKind
    to: str
    subject: str
    template: str
    context: dict
    user_id: int


def _used_keys(keys: Iterable[str]) -> set[str]:
    """The keys already in the outbox (one query per KEY_CHUNK keys)."""
    wanted = sorted(set(keys))
    used: set[str] = set()
    for start in range(0, len(wanted), KEY_CHUNK):
        chunk = wanted[start:start + KEY_CHUNK]
        used.update(db.session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(chunk))))
    return used


def _queue(candidates: list, key: Callable[[object], str], build: Callable[[object, str], Message | None],
           now: datetime) -> int:
    """Enqueue a message for each candidate whose key is unused; the number queued.

    Keys are checked in bulk first, so a repeat run renders nothing; `enqueue` still refuses
    a key another run took meanwhile (the unique index), so two runs at once are safe too.
    """
    keyed = [(candidate, key(candidate)) for candidate in candidates]
    used = _used_keys(k for _, k in keyed)
    queued = 0
    for candidate, k in keyed:
        if k in used:
            continue
        message = build(candidate, k)
        if message is None or not _deliverable(message.to):
            continue
        used.add(k)
        if enqueue(message.kind, message.to, message.subject, message.template, message.context,
                   user_id=message.user_id, dedupe_key=message.key, now=now) is not None:
            queued += 1
    return queued


def _deliverable(address: str | None) -> bool:
    # Anonymised addresses end in @invalid; a blank manager address is simply not there.
    return bool(address and address.strip()) and not address.strip().lower().endswith("@invalid")


def _utc_key(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_when(session: CourseSession) -> str:
    """'Sunday 25 October 2026, 9:30am to 12:30pm' in London time (the end's date too if it differs)."""
    start, end = session.starts_at, session.ends_at
    if to_london(start).date() == to_london(end).date():
        return f"{format_datetime(start)} to {format_time(end)}"
    return f"{format_datetime(start)} to {format_datetime(end)}"


def _session_context(session: CourseSession) -> dict:
    return {"course_title": session.course.title, "when": session_when(session),
            "date": format_date(session.starts_at), "venue_lines": session.venue_lines}


def _user_is_reachable():
    return User.active.is_(True)


def _bookings_with_attendance(*where):
    """Bookings marked on a register, with their outcome; walk-ins have no booking, so none."""
    return (
        select(Booking, Attendance.outcome)
        .join(Attendance, Attendance.booking_id == Booking.id)
        .join(CourseSession, CourseSession.id == Booking.session_id)
        .join(User, User.id == Booking.user_id)
        .where(CourseSession.status == SessionStatus.SCHEDULED, _user_is_reachable(), *where)
        # Emails name the course and dates, never the trainers.
        .options(defaultload(Booking.session).lazyload(CourseSession.trainers),
                 defaultload(Booking.session).defaultload(CourseSession.course).lazyload(Course.theme_rows))
        .order_by(Booking.id)
    )


def _submitted(stage: Stage):
    return exists().where(Evaluation.booking_id == Booking.id, Evaluation.stage == stage,
                          Evaluation.status == EvaluationStatus.SUBMITTED)


def _ended_within(now: datetime, window: timedelta):
    return and_(CourseSession.ends_at <= now, CourseSession.ends_at > now - window)


# ---------------------------------------------------------------------------
# Reminders before a session
# ---------------------------------------------------------------------------

def reminder_key(booking: Booking) -> str:
    """A rescheduled session gets a new reminder: its start is part of the key."""
    return f"reminder:{booking.id}:{_utc_key(booking.session.starts_at)}"


def queue_reminders(now: datetime) -> int:
    """Remind people with a confirmed place of a session starting within REMINDER_DAYS days."""
    horizon = now + timedelta(days=current_app.config["REMINDER_DAYS"])
    with write_transaction():
        bookings = list(db.session.scalars(
            select(Booking)
            .join(CourseSession, CourseSession.id == Booking.session_id)
            .join(User, User.id == Booking.user_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                CourseSession.status == SessionStatus.SCHEDULED,
                CourseSession.starts_at > now, CourseSession.starts_at <= horizon,
                func.coalesce(Booking.confirmed_at, Booking.created_at) <= now - FRESH_CONFIRMATION,
                _user_is_reachable(),
            )
            .options(defaultload(Booking.session).lazyload(CourseSession.trainers),
                     defaultload(Booking.session).defaultload(CourseSession.course).lazyload(Course.theme_rows))
            .order_by(Booking.id)
        ).unique())

        def build(booking: Booking, key: str) -> Message:
            session = booking.session
            # Only confirmed bookings are chosen, so the joining link goes only to booked people.
            return Message(key, MessageKind.REMINDER, booking.user.email,
                           f"Reminder: {session.course.title} on {format_date(session.starts_at)}",
                           "reminder",
                           {"name": booking.user.name, **_session_context(session),
                            "online_link": session.online_link,
                            "booking_url": external_url("booking.booking_detail", booking_id=booking.id)},
                           booking.user_id)

        return _queue(bookings, reminder_key, build, now)


# ---------------------------------------------------------------------------
# Evaluation requests and their one reminder
# ---------------------------------------------------------------------------

def _after_form_url(booking_id: int) -> str:
    return external_url("evaluation.form", booking_id=booking_id, stage=Stage.AFTER.value)


def _evaluation_context(booking: Booking) -> dict:
    return {"name": booking.user.name, **_session_context(booking.session),
            "form_url": _after_form_url(booking.id),
            "certificate_needs_form": bool(current_app.config["CERTIFICATE_REQUIRES_EVALUATION"])}


def queue_evaluation_requests(now: datetime) -> int:
    """Ask people marked present at a session that ended in the last 30 days for their after-course form."""
    with write_transaction():
        rows = db.session.execute(_bookings_with_attendance(
            Attendance.was_present, _ended_within(now, LOOK_BACK), ~_submitted(Stage.AFTER),
        )).unique().all()

        def build(row, key: str) -> Message:
            booking = row[0]
            return Message(key, MessageKind.EVALUATION_REQUEST, booking.user.email,
                           f"How was {booking.session.course.title}? Your evaluation form is ready",
                           "evaluation_request", _evaluation_context(booking), booking.user_id)

        return _queue(rows, lambda row: f"evaluation-request:{row[0].id}", build, now)


def queue_evaluation_reminders(now: datetime) -> int:
    """One reminder, EVALUATION_REMINDER_DAYS after the request, to people who have still not submitted."""
    wait = timedelta(days=current_app.config["EVALUATION_REMINDER_DAYS"])
    request_key = literal("evaluation-request:") + cast(Booking.id, String)
    asked = exists().where(
        Outbox.dedupe_key == request_key,
        Outbox.created_at <= now - wait,
        # Bounded: a request older than the look-back gets no reminder now.
        Outbox.created_at > now - wait - LOOK_BACK,
    )
    with write_transaction():
        rows = db.session.execute(_bookings_with_attendance(
            Attendance.was_present, asked, ~_submitted(Stage.AFTER),
        )).unique().all()

        def build(row, key: str) -> Message:
            booking = row[0]
            return Message(key, MessageKind.EVALUATION_REMINDER, booking.user.email,
                           f"Reminder: your evaluation form for {booking.session.course.title}",
                           "evaluation_reminder", _evaluation_context(booking), booking.user_id)

        return _queue(rows, lambda row: f"evaluation-reminder:{row[0].id}", build, now)


# ---------------------------------------------------------------------------
# The follow-up with the line manager
# ---------------------------------------------------------------------------

def queue_follow_ups(now: datetime) -> int:
    """When the follow-up form opens (and for 14 days after), tell the delegate and their manager."""
    weeks = timedelta(weeks=current_app.config["FOLLOW_UP_WEEKS"])
    with write_transaction():
        rows = [
            row for row in db.session.execute(_bookings_with_attendance(
                Attendance.was_present,
                CourseSession.ends_at <= now - weeks, CourseSession.ends_at > now - weeks - FOLLOW_UP_WINDOW,
                ~_submitted(Stage.FOLLOW_UP),
            )).unique().all()
            # The evaluation area decides when the form opens; the query above only narrows.
            if follow_up_opens_at(row[0].session) <= now < follow_up_opens_at(row[0].session) + FOLLOW_UP_WINDOW
        ]

        def to_delegate(row, key: str) -> Message:
            booking = row[0]
            return Message(key, MessageKind.FOLLOW_UP_DUE, booking.user.email,
                           f"Time for your follow-up on {booking.session.course.title}, with your line manager",
                           "follow_up_due",
                           {"name": booking.user.name, **_session_context(booking.session),
                            "manager_name": booking.user.manager_name,
                            "form_url": external_url("evaluation.form", booking_id=booking.id,
                                                     stage=Stage.FOLLOW_UP.value)},
                           booking.user_id)

        def to_manager(row, key: str) -> Message:
            booking = row[0]
            user = booking.user
            # No link to the form: it is the delegate's own, and only they can open it.
            return Message(key, MessageKind.FOLLOW_UP_MANAGER, user.manager_email,
                           f"Follow-up: {user.name} attended {booking.session.course.title}",
                           "follow_up_manager",
                           {"manager_name": user.manager_name, "delegate_name": user.name,
                            **_session_context(booking.session)},
                           booking.user_id)

        return (_queue(rows, lambda row: f"follow-up:{row[0].id}", to_delegate, now)
                + _queue(rows, lambda row: f"follow-up-manager:{row[0].id}", to_manager, now))


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

def certificate_key(booking_id: int) -> str:
    return f"certificate:{booking_id}"


def _certificate_message(booking: Booking, outcome: AttendanceOutcome, key: str) -> Message:
    return Message(key, MessageKind.CERTIFICATE_AVAILABLE, booking.user.email,
                   f"Your certificate for {booking.session.course.title} is ready",
                   "certificate_available",
                   {"name": booking.user.name, **_session_context(booking.session),
                    "partial": outcome == AttendanceOutcome.PARTIAL,
                    "certificate_url": external_url("certificates.download", booking_id=booking.id)},
                   booking.user_id)


def queue_certificates(now: datetime) -> int:
    """Catch-up: tell people whose certificate is available and who have not been told.

    Available means marked present and, when CERTIFICATE_REQUIRES_EVALUATION, the after-course
    form submitted (the submission itself raises the notice; this covers any it missed).
    Without that setting, the notice waits until the register is complete, so a trainer's
    correction does not follow a certificate out of the door. The certificates are issued
    here too, in the same transaction.
    """
    if current_app.config["CERTIFICATE_REQUIRES_EVALUATION"]:
        ready = _submitted(Stage.AFTER)
    else:
        ready = exists().where(Register.session_id == Booking.session_id, Register.completed_at.is_not(None))
    with write_transaction():
        rows = db.session.execute(_bookings_with_attendance(
            Attendance.was_present, _ended_within(now, LOOK_BACK), ready,
        )).unique().all()
        # Issue what is due (the certificates area's rules) before saying so, so the email's
        # link finds it issued; a repeat run issues nothing.
        certificates.issue_due([row[0].id for row in rows], now)
        return _queue(rows, lambda row: certificate_key(row[0].id),
                      lambda row, key: _certificate_message(row[0], row[1], key), now)


@evaluation_submitted.connect
def _certificate_on_submission(evaluation: Evaluation, now: datetime, **_kw) -> None:
    """Submitting the after-course form makes the certificate available: say so, in the same transaction."""
    if evaluation.stage != Stage.AFTER:
        return
    booking = evaluation.booking
    outcome = db.session.scalar(select(Attendance.outcome).where(Attendance.booking_id == booking.id))
    if outcome is None or not outcome.was_present or not booking.user.active:
        return
    _queue([booking], lambda b: certificate_key(b.id), lambda b, key: _certificate_message(b, outcome, key), now)


# ---------------------------------------------------------------------------
# Refreshers due, from the training needs analysis
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RefresherDue:
    user: User
    requirement: Requirement
    due: date


def _booked_ahead(user_ids: list[int], now: datetime) -> set[tuple[int, int | None, object]]:
    """(user, course, level) of each live booking on a session still to come, for these people."""
    if not user_ids:
        return set()
    return {
        (user_id, course_id, level)
        for user_id, course_id, level in db.session.execute(
            select(Booking.user_id, Course.id, Course.level)
            .join(CourseSession, CourseSession.id == Booking.session_id)
            .join(Course, Course.id == CourseSession.course_id)
            .where(Booking.status.in_(sorted(s.value for s in ACTIVE_STATUSES)),
                   CourseSession.status == SessionStatus.SCHEDULED, CourseSession.starts_at > now,
                   Booking.user_id.in_(user_ids))
        )
    }


def refreshers_due(now: datetime) -> list[RefresherDue]:
    """People whose refresher for a requirement of their current group is due within
    REFRESHER_NOTICE_DAYS days, or fell due in the last 14, and who are not already booked
    on a course that would meet it. The rules are the TNA's (`needs.tna`)."""
    today = london_today(now)
    notice = timedelta(days=current_app.config["REFRESHER_NOTICE_DAYS"])
    due_soon_months = current_app.config["TNA_DUE_SOON_MONTHS"]
    latest = latest_completions(now).subquery()
    rows = db.session.execute(
        select(User, Requirement, WorkforceMembership.started_on, latest.c.last_at)
        .select_from(latest)
        .join(User, User.id == latest.c.user_id)
        .join(Requirement, Requirement.id == latest.c.requirement_id)
        .join(WorkforceMembership, and_(WorkforceMembership.user_id == latest.c.user_id,
                                        WorkforceMembership.ended_on.is_(None)))
        .where(Requirement.refresher_months.is_not(None))
        .options(lazyload(Requirement.group))
    ).unique().all()
    found = []
    for user, requirement, started_on, last_at in rows:
        status = status_for(london_today(last_at), started_on, requirement.deadline_months,
                            requirement.refresher_months, today, due_soon_months)
        if status.next_due is not None and status.next_due - notice <= today <= status.next_due + REFRESHER_GRACE:
            found.append(RefresherDue(user, requirement, status.next_due))
    booked = _booked_ahead(sorted({r.user.id for r in found}), now)
    return [
        r for r in found
        if not any(user_id == r.user.id and ((r.requirement.course_id is not None and course_id == r.requirement.course_id)
                                             or (r.requirement.level is not None and level == r.requirement.level))
                   for user_id, course_id, level in booked)
    ]


def refresher_key(due: RefresherDue) -> str:
    return f"refresher:{due.user.id}:{due.requirement.id}:{due.due.isoformat()}"


def queue_refreshers(now: datetime) -> int:
    """Tell people when a refresher is due (only people with a current workforce group)."""
    today = london_today(now)
    with write_transaction():
        candidates = refreshers_due(now)

        def build(due: RefresherDue, key: str) -> Message:
            overdue = due.due < today
            label = due.requirement.label
            return Message(key, MessageKind.REFRESHER_DUE, due.user.email,
                           f"Refresher training {'overdue' if overdue else 'due'}: {label}",
                           "refresher_due",
                           {"name": due.user.name, "requirement": label, "overdue": overdue,
                            "due_date": format_date(due.due),
                            "catalogue_url": external_url("catalogue.index"),
                            "requirements_url": external_url("needs.my_requirements")},
                           due.user.id)

        return _queue(candidates, refresher_key, build, now)


# ---------------------------------------------------------------------------
# No-show notice to the manager
# ---------------------------------------------------------------------------

def queue_no_show_notices(now: datetime) -> int:
    """Tell the manager of someone booked who did not attend, once the register is complete."""
    if not current_app.config["NO_SHOW_NOTICE_TO_MANAGER"]:
        return 0
    completed = exists().where(Register.session_id == Booking.session_id, Register.completed_at.is_not(None),
                               Register.completed_at <= now)
    with write_transaction():
        rows = db.session.execute(_bookings_with_attendance(
            Attendance.outcome == AttendanceOutcome.DID_NOT_ATTEND, _ended_within(now, LOOK_BACK), completed,
        )).unique().all()

        def build(row, key: str) -> Message:
            booking = row[0]
            user = booking.user
            return Message(key, MessageKind.NO_SHOW, user.manager_email,
                           f"{user.name} did not attend {booking.session.course.title} on "
                           f"{format_date(booking.session.starts_at)}",
                           "no_show",
                           {"manager_name": user.manager_name, "delegate_name": user.name,
                            **_session_context(booking.session)},
                           booking.user_id)

        return _queue(rows, lambda row: f"no-show:{row[0].id}", build, now)


# ---------------------------------------------------------------------------
# The whole tick
# ---------------------------------------------------------------------------

#: (label, what the count means, rule), in the order they run: places move before reminders.
RULES: list[tuple[str, str, Callable[[datetime], int]]] = [
    ("Offers expired", "", lambda now: booking_services.expire_offers(now)),
    ("Approval holds released", "", lambda now: booking_services.release_lapsed_approval_holds(now)),
    ("Approval requests expired", "", lambda now: booking_services.expire_approval_requests(now)),
    ("Reminders", "queued", queue_reminders),
    ("Evaluation requests", "queued", queue_evaluation_requests),
    ("Evaluation reminders", "queued", queue_evaluation_reminders),
    ("Follow-up emails", "queued", queue_follow_ups),
    ("Certificate notices", "queued", queue_certificates),
    ("Refresher notices", "queued", queue_refreshers),
    ("No-show notices", "queued", queue_no_show_notices),
    ("Sent emails deleted", "", lambda now: purge_sent_emails(now)),
]


@dataclass(frozen=True)
class RuleResult:
    label: str
    count: int | None  # None: the rule failed (and rolled back); the others still ran
    unit: str = ""

    @property
    def line(self) -> str:
        if self.count is None:
            return f"{self.label}: failed"
        return f"{self.label}: {self.count}{' ' + self.unit if self.unit else ''}"


def run(now: datetime) -> list[RuleResult]:
    """Every rule once, each in its own transaction; a failing rule does not stop the rest."""
    results = []
    for label, unit, rule in RULES:
        try:
            results.append(RuleResult(label, rule(now), unit))
        except Exception as exc:  # noqa: BLE001  (one broken rule must not stop the others)
            db.session.rollback()
            # The class only: a message could quote personal data from the statement.
            log.error("tick: %s failed: %s", label, type(exc).__name__)
            results.append(RuleResult(label, None, unit))
    return results


__all__ = [
    "Message", "RefresherDue", "RuleResult", "certificate_key", "queue_certificates", "queue_evaluation_reminders",
    "queue_evaluation_requests", "queue_follow_ups", "queue_no_show_notices", "queue_refreshers",
    "queue_reminders", "refresher_key", "refreshers_due", "reminder_key", "run", "session_when",
]
