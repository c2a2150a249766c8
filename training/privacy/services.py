"""Privacy: what we hold about a person (subject access), retention and anonymisation.

Anonymisation replaces who a person is, never what happened: bookings, attendance, ratings
and choices stay, so every count and figure in reports stays exactly the same.
Callers pass the acting person and `now`; nothing here reads the request or the session.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, delete, func, literal, select, union_all, update
from sqlalchemy.orm import defaultload, joinedload, lazyload, selectinload

from ..accounts.models import ConsentRecord, Role, RoleGrant, User
from ..attendance.models import Attendance
from ..booking.models import Booking
from ..catalogue.models import Course, CourseSession
from ..certificates.models import Certificate
from ..db import write_transaction
from ..errors import DomainError
from ..evaluation.models import Answer, Evaluation
from ..extensions import db
from ..needs.models import WorkforceMembership
from ..notifications.models import MessageStatus, Outbox
from ..suggestions.models import CourseSuggestion

log = logging.getLogger(__name__)

#: People are anonymised in batches of this many, one write transaction each.
BATCH_SIZE = 500
#: Can never match a Werkzeug hash ("method$salt$hash"), so nobody can sign in with it.
UNUSABLE_PASSWORD = "!anonymised"
ANONYMISED = "Anonymised"
REMOVED_TEXT = "[removed]"
WALK_IN_PREFIX = "Anonymised walk-in "


class AnonymiseRefused(DomainError):
    """A person's data cannot be removed this way."""


def anonymised_name(user_id: int) -> str:
    """The name an anonymised person is shown with."""
    return f"Anonymised person {user_id}"


def anonymised_email(user_id: int) -> str:
    """An address at the reserved .invalid domain: unique, and it can never reach anyone."""
    return f"anonymised-{user_id}@invalid"


def is_anonymised(user: User) -> bool:
    """Whether this person's data has already been removed."""
    return user.email == anonymised_email(user.id)


def _not_anonymised():
    # Real addresses are validated on the way in, and the .invalid domain is reserved.
    return ~User.email.like("anonymised-%@invalid")


# ---------------------------------------------------------------------------
# Subject access: everything held about one person
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MyData:
    """Everything held about one person, as loaded for the page and the JSON download."""

    user: User
    bookings: list[Booking]
    attendances: list[tuple[Attendance, Certificate | None]]
    evaluations: list[Evaluation]
    suggestions: list[CourseSuggestion]
    memberships: list[WorkforceMembership]
    consent_records: list[ConsentRecord]
    emails: list[Outbox]


def _session_only(path):
    """Load a session and its course, but not their trainers and themes (not shown here)."""
    return (path.lazyload(CourseSession.trainers),
            path.defaultload(CourseSession.course).lazyload(Course.theme_rows))


def my_data(user_id: int) -> MyData:
    """All the data held about a person, in a fixed number of queries however much there is."""
    user = db.session.get(User, user_id)  # usually already loaded: the signed-in person
    bookings = list(db.session.scalars(
        select(Booking).where(Booking.user_id == user_id)
        .options(lazyload(Booking.user), *_session_only(defaultload(Booking.session)))
        .order_by(Booking.created_at, Booking.id)
    ))
    attendances = list(db.session.execute(
        select(Attendance, Certificate)
        .outerjoin(Certificate, Certificate.attendance_id == Attendance.id)
        .where(Attendance.user_id == user_id)
        .options(joinedload(Attendance.session), *_session_only(defaultload(Attendance.session)))
        .order_by(Attendance.recorded_at, Attendance.id)
    ))
    evaluations = list(db.session.scalars(
        select(Evaluation)
        .join(Booking, Booking.id == Evaluation.booking_id)
        .where(Booking.user_id == user_id)
        .options(joinedload(Evaluation.session), *_session_only(defaultload(Evaluation.session)),
                 selectinload(Evaluation.answers))
        .order_by(Evaluation.created_at, Evaluation.id)
    ).unique())
    suggestions = list(db.session.scalars(
        select(CourseSuggestion).where(CourseSuggestion.suggested_by_id == user_id)
        .options(joinedload(CourseSuggestion.agency), lazyload(CourseSuggestion.suggested_by))
        .order_by(CourseSuggestion.created_at, CourseSuggestion.id)
    ))
    memberships = list(db.session.scalars(
        select(WorkforceMembership).where(WorkforceMembership.user_id == user_id)
        .order_by(WorkforceMembership.started_on, WorkforceMembership.id)
    ))
    consent_records = list(db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    ))
    emails = list(db.session.scalars(
        select(Outbox).where(Outbox.user_id == user_id).order_by(Outbox.created_at, Outbox.id)
    ))
    return MyData(user, bookings, attendances, evaluations, suggestions, memberships, consent_records, emails)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question.text,
        "question_key": answer.question.key,
        "learning_outcome": answer.outcome_text,
        "rating": answer.rating,
        "choice": answer.choice,
        "text": answer.text,
    }


def my_data_json(data: MyData) -> dict:
    """The person's data as JSON-ready values (times in UTC, ISO 8601)."""
    user = data.user
    return {
        "account": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "job_title": user.job_title,
            "line_manager_name": user.manager_name,
            "line_manager_email": user.manager_email,
            "agency": {"id": user.agency.id, "name": user.agency.name, "sector": user.agency.sector.label},
            "roles": sorted(role.value for role in user.roles),
            "active": user.active,
            "created_at": _iso(user.created_at),
        },
        "consent": {
            "safeguarding_updates": user.consent_updates,
            "updated_at": _iso(user.consent_updated_at),
            "history": [
                {"consented": r.consented, "source": r.source.value, "source_label": r.source.label,
                 "recorded_at": _iso(r.recorded_at)}
                for r in data.consent_records
            ],
        },
        "calendar_feed": user.calendar_token is not None,
        # The emails we sent (or will send) about the person; the manager's copies are included,
        # as they are about them. Bodies are left out: each is the message's subject expanded.
        "emails": [
            {
                "kind": m.kind.value,
                "to": m.recipient,
                "subject": m.subject,
                "status": m.status.value,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in data.emails
        ],
        "bookings": [
            {
                "id": b.id,
                "course": b.session.course.title,
                "session_starts_at": _iso(b.session.starts_at),
                "status": b.status.value,
                "status_label": b.status.label,
                "booked_by_someone_else": b.created_by_id is not None and b.created_by_id != user.id,
                "created_at": _iso(b.created_at),
                "queued_at": _iso(b.queued_at),
                "status_changed_at": _iso(b.status_changed_at),
                "confirmed_at": _iso(b.confirmed_at),
                "offered_at": _iso(b.offered_at),
                "offer_expires_at": _iso(b.offer_expires_at),
                "overbooked": b.overbooked,
                "previous_booking_id": b.previous_booking_id,
                "note": b.note,
            }
            for b in data.bookings
        ],
        "attendance": [
            {
                "id": a.id,
                "course": a.session.course.title,
                "session_starts_at": _iso(a.session.starts_at),
                "name_on_register": a.attendee_name,
                "email_on_register": a.attendee_email,
                "agency": a.agency.name,
                "outcome": a.outcome.value,
                "outcome_label": a.outcome.label,
                "walk_in": a.walk_in,
                "recorded_at": _iso(a.recorded_at),
            }
            for a, _certificate in data.attendances
        ],
        "evaluations": [
            {
                "id": e.id,
                "booking_id": e.booking_id,
                "course": e.session.course.title,
                "stage": e.stage.value,
                "stage_label": e.stage.label,
                "status": e.status.value,
                "created_at": _iso(e.created_at),
                "updated_at": _iso(e.updated_at),
                "submitted_at": _iso(e.submitted_at),
                "answers": [_answer_json(answer) for answer in e.answers],
            }
            for e in data.evaluations
        ],
        "course_suggestions": [
            {
                "id": s.id,
                "title": s.title,
                "need": s.need,
                "evidence": s.evidence,
                "audience": s.audience,
                "people_benefiting": s.people_benefiting,
                "agency": s.agency.name,
                "status": s.status.value,
                "decision_reason": s.decision_reason,
                "created_at": _iso(s.created_at),
                "decided_at": _iso(s.decided_at),
            }
            for s in data.suggestions
        ],
        "workforce_groups": [
            {
                "group": m.group.name,
                "started_on": m.started_on.isoformat(),
                "ended_on": m.ended_on.isoformat() if m.ended_on else None,
                "recorded_at": _iso(m.recorded_at),
            }
            for m in data.memberships
        ],
        "certificates": [
            {
                "code": certificate.code,
                "course": a.session.course.title,
                "issued_at": _iso(certificate.issued_at),
            }
            for a, certificate in data.attendances if certificate is not None
        ],
    }


# ---------------------------------------------------------------------------
# Anonymising people
# ---------------------------------------------------------------------------

def _anonymise_users(user_ids: Sequence[int], now: datetime) -> None:
    """Remove the personal data of these people, in a few set-based statements.

    Call inside a write transaction. Only names, contact details and free text change, so
    bookings, attendance and answers keep counting exactly as before.
    """
    if not user_ids:
        return
    ids = list(user_ids)
    suffix = cast(User.id, String)
    no_sync = {"synchronize_session": False}
    db.session.execute(
        update(User).where(User.id.in_(ids)).values(
            name=literal("Anonymised person ") + suffix,
            email=literal("anonymised-") + suffix + literal("@invalid"),
            job_title=ANONYMISED,
            manager_name=ANONYMISED,
            manager_email=literal("anonymised-") + suffix + literal("@invalid"),
            password_hash=UNUSABLE_PASSWORD,
            active=False,
            consent_updates=False,
            consent_updated_at=now,
            calendar_token=None,
        ).execution_options(**no_sync)
    )
    # Emails name the person and their manager: queued ones must not go out, sent ones go.
    db.session.execute(delete(Outbox).where(Outbox.user_id.in_(ids)).execution_options(**no_sync))
    # Their consent history has nothing left to evidence once they are anonymised.
    db.session.execute(delete(ConsentRecord).where(ConsentRecord.user_id.in_(ids)).execution_options(**no_sync))
    db.session.execute(delete(RoleGrant).where(RoleGrant.user_id.in_(ids)).execution_options(**no_sync))
    attendee = cast(Attendance.user_id, String)
    db.session.execute(
        update(Attendance).where(Attendance.user_id.in_(ids)).values(
            attendee_name=literal("Anonymised person ") + attendee,
            attendee_email=literal("anonymised-") + attendee + literal("@invalid"),
        ).execution_options(**no_sync)
    )
    # A coordinator's note on a booking may say something about the person.
    db.session.execute(
        update(Booking).where(Booking.user_id.in_(ids), Booking.note.is_not(None))
        .values(note=REMOVED_TEXT).execution_options(**no_sync)
    )
    # Free text only: ratings and choices stay, so results do not change.
    their_evaluations = (
        select(Evaluation.id).join(Booking, Booking.id == Evaluation.booking_id).where(Booking.user_id.in_(ids))
    )
    db.session.execute(
        update(Answer)
        .where(Answer.evaluation_id.in_(their_evaluations), Answer.text.is_not(None), Answer.text != "")
        .values(text=REMOVED_TEXT, quotable=False)
        .execution_options(**no_sync)
    )
    # The bulk statements bypassed the identity map: reload anything already loaded.
    db.session.expire_all()


def _anonymise_walk_ins(attendance_ids: Sequence[int]) -> None:
    """Remove the name and email of walk-ins without accounts. Call inside a write transaction."""
    if not attendance_ids:
        return
    db.session.execute(
        update(Attendance).where(Attendance.id.in_(list(attendance_ids))).values(
            attendee_name=literal(WALK_IN_PREFIX) + cast(Attendance.id, String),
            attendee_email=None,
        ).execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def _other_active_coordinators(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.id != user_id, User.active.is_(True),
            User.grants.any(RoleGrant.role == Role.COORDINATOR),
        )
    ) or 0


def anonymise_refusal(person: User, actor: User) -> str | None:
    """Why this person's data cannot be removed by `actor`, or None when it can."""
    if person.id == actor.id:
        return "You cannot delete your own personal data: ask another coordinator to do it"
    if is_anonymised(person):
        return "This person's personal data has already been deleted"
    if person.has_role(Role.COORDINATOR) and person.active and _other_active_coordinators(person.id) == 0:
        return "You cannot delete the personal data of the last coordinator"
    return None


def anonymise_person(user_id: int, actor: User, now: datetime) -> User:
    """Remove one person's personal data on request, keeping their records for the figures."""
    with write_transaction():
        person = db.session.get(User, user_id)
        if person is None:
            raise AnonymiseRefused("This person could not be found")
        refusal = anonymise_refusal(person, actor)
        if refusal:
            raise AnonymiseRefused(refusal)
        _anonymise_users([person.id], now)
    log.info("Personal data of user %s removed by user %s", user_id, actor.id)
    return db.session.get(User, user_id)


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

def retention_cutoff(now: datetime, years: int | None = None) -> datetime:
    """`years` (RETENTION_YEARS by default) before `now`; 29 February becomes 28 February."""
    years = current_app.config["RETENTION_YEARS"] if years is None else years
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _last_activity():
    """Each account's latest activity: created, booking changes, attendance, evaluation forms."""
    activity = union_all(
        select(User.id.label("user_id"), User.created_at.label("at")),
        select(Booking.user_id, Booking.created_at),
        select(Booking.user_id, Booking.status_changed_at),
        select(Attendance.user_id, Attendance.recorded_at).where(Attendance.user_id.is_not(None)),
        # updated_at is the submission time for a submitted form, and the last save of a draft.
        select(Booking.user_id, Evaluation.updated_at).join(Booking, Booking.id == Evaluation.booking_id),
    ).subquery()
    return (
        select(activity.c.user_id.label("user_id"), func.max(activity.c.at).label("last_at"))
        .group_by(activity.c.user_id)
        .subquery()
    )


def inactive_people(now: datetime, among: Sequence[int] | None = None) -> list[int]:
    """Ids of people to anonymise: no activity since the cutoff, not yet anonymised.

    People who still hold the trainer or coordinator role are kept: running the service is
    activity this table cannot see, and a coordinator removes their roles when they leave.
    """
    last = _last_activity()
    staff = select(RoleGrant.user_id).where(RoleGrant.role.in_([Role.TRAINER.value, Role.COORDINATOR.value]))
    query = (
        select(User.id)
        .join(last, last.c.user_id == User.id)
        .where(last.c.last_at < retention_cutoff(now), _not_anonymised(), User.id.not_in(staff))
        .order_by(User.id)
    )
    if among is not None:
        query = query.where(User.id.in_(list(among)))
    return list(db.session.scalars(query))


def old_walk_ins(now: datetime) -> list[int]:
    """Attendance ids of walk-ins without accounts on sessions older than the cutoff."""
    cutoff = retention_cutoff(now)
    return list(db.session.scalars(
        select(Attendance.id)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(
            Attendance.user_id.is_(None),
            CourseSession.ends_at < cutoff,
            Attendance.recorded_at < cutoff,
            ~Attendance.attendee_name.startswith(WALK_IN_PREFIX),
        )
        .order_by(Attendance.id)
    ))


@dataclass(frozen=True)
class RetentionRun:
    """What a retention run anonymised (or, in a dry run, would have)."""

    people: int
    walk_ins: int
    dry_run: bool


def _batches(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def anonymise_inactive(now: datetime, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> RetentionRun:
    """Anonymise everyone past the retention period, one write transaction per batch."""
    people, walk_ins = inactive_people(now), old_walk_ins(now)
    if dry_run:
        db.session.rollback()
        return RetentionRun(len(people), len(walk_ins), True)
    done = 0
    for batch in _batches(people, batch_size):
        with write_transaction():
            # Checked again under the write lock, so a person active since the list was
            # read is left alone.
            still = inactive_people(now, among=batch)
            _anonymise_users(still, now)
            done += len(still)
    for batch in _batches(walk_ins, batch_size):
        with write_transaction():
            _anonymise_walk_ins(batch)
    log.info("Retention: anonymised %s people and %s walk-ins", done, len(walk_ins))
    return RetentionRun(done, len(walk_ins), False)


def purge_sent_emails(now: datetime, days: int | None = None) -> int:
    """Delete emails sent more than OUTBOX_RETENTION_DAYS ago: the outbox is not an archive.

    Failed messages are kept until a coordinator has dealt with them; queued ones are pending.
    """
    days = current_app.config["OUTBOX_RETENTION_DAYS"] if days is None else days
    with write_transaction():
        result = db.session.execute(
            delete(Outbox).where(Outbox.status == MessageStatus.SENT, Outbox.sent_at < now - timedelta(days=days))
            .execution_options(synchronize_session=False)
        )
    return result.rowcount or 0
