"""Audit operations: append an event to the caller's write transaction, and read the log.

There is deliberately no function that changes or deletes an event (and the model refuses
both): the log is append-only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, inspect, select

from ..accounts.models import User
from ..attendance.models import Attendance, AttendanceOutcome
from ..booking.models import Booking, BookingStatus
from ..db import _write_intent, utcnow, write_transaction
from ..extensions import db
from ..timeutil import london_to_utc
from .models import ACTION_MAX, OBJECT_TYPE_MAX, SUMMARY_MAX, AuditEvent


class NotInWriteTransaction(RuntimeError):
    """record() was called outside write_transaction(), so the event could be lost or orphaned."""


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def record(actor: User | None, action: str, object_type: str, object_id: int | None, summary: str,
           now: datetime | None = None) -> AuditEvent:
    """Add an event to the current write transaction; it commits or rolls back with the change."""
    # Outside a write transaction the event would commit with whatever came next, or never.
    if not _write_intent.get():
        raise NotInWriteTransaction(action)
    event = AuditEvent(
        occurred_at=now or utcnow(),
        actor_id=actor.id if actor is not None else None,
        action=action[:ACTION_MAX],
        object_type=object_type[:OBJECT_TYPE_MAX],
        object_id=object_id,
        summary=summary[:SUMMARY_MAX],
    )
    db.session.add(event)
    return event


def record_export(actor: User | None, action: str, object_type: str, object_id: int | None, summary: str,
                  now: datetime | None = None) -> None:
    """Record a download of personal data in a transaction of its own (a download writes nothing else)."""
    with write_transaction():
        record(actor, action, object_type, object_id, summary, now)


# ---------------------------------------------------------------------------
# Hooks called from other areas' services (inside their write transactions)
# ---------------------------------------------------------------------------

def roles_changed(actor: User | None, person: User, now: datetime | None = None) -> None:
    """One event per role granted or revoked since the person was loaded (pending changes)."""
    history = inspect(person).attrs.grants.history
    for grant in history.added:
        record(actor, "role.granted", "user", person.id, f"Granted {grant.role.value} to person {person.id}", now)
    for grant in history.deleted:
        record(actor, "role.revoked", "user", person.id, f"Revoked {grant.role.value} from person {person.id}", now)


def account_status_changed(actor: User | None, person: User, now: datetime | None = None) -> None:
    """An event when the account's active flag is about to change (nothing when it stays the same)."""
    if not inspect(person).attrs.active.history.has_changes():
        return
    verb = "reactivated" if person.active else "deactivated"
    record(actor, f"account.{verb}", "user", person.id, f"{verb.capitalize()} account of person {person.id}", now)


def _is_staff_action(actor: User | None, booking: Booking) -> bool:
    # A person's own booking or cancellation is theirs to make: only actions for someone else count.
    return actor is not None and actor.id != booking.user_id


def booking_made(actor: User | None, booking: Booking, now: datetime | None = None) -> None:
    """A coordinator booked someone else (overbooked or not); a person's own booking is not audited."""
    if not _is_staff_action(actor, booking):
        return
    action = "booking.overbooked" if booking.overbooked else "booking.made"
    record(actor, action, "booking", booking.id,
           f"Booked person {booking.user_id} on session {booking.session_id} ({booking.status.value})", now)


def booking_changed(actor: User | None, booking: Booking, action: str, now: datetime | None = None) -> None:
    """A coordinator cancelled, declined, accepted or transferred someone else's booking."""
    # An offer that had lapsed was ended by the clock, not by the actor.
    if not _is_staff_action(actor, booking) or booking.status == BookingStatus.EXPIRED:
        return
    record(actor, action, "booking", booking.id,
           f"Booking {booking.id} of person {booking.user_id} on session {booking.session_id} "
           f"is now {booking.status.value}", now)


def booking_moved(actor: User | None, old: Booking, new: Booking, now: datetime | None = None) -> None:
    """A coordinator moved a booking to another session (only coordinators can move)."""
    action = "booking.overbooked" if new.overbooked else "booking.moved"
    record(actor, action, "booking", old.id,
           f"Moved booking {old.id} of person {old.user_id} from session {old.session_id} to session "
           f"{new.session_id} as booking {new.id} ({new.status.value})", now)


def attendance_marked(actor: User | None, session_id: int, booking_id: int, old: AttendanceOutcome | None,
                      new: AttendanceOutcome,
                      now: datetime | None = None) -> None:
    """A booked person's attendance recorded (old is None) or changed."""
    if old is None:
        record(actor, "attendance.recorded", "booking", booking_id,
               f"Marked booking {booking_id} on session {session_id} as {new.value}", now)
    else:
        record(actor, "attendance.changed", "booking", booking_id,
               f"Changed booking {booking_id} on session {session_id} from {old.value} to {new.value}", now)


def walk_in_added(actor: User | None, attendance: Attendance, now: datetime | None = None) -> None:
    """A walk-in put on a register (the attendance must be flushed, so it has an id)."""
    record(actor, "attendance.walk_in_added", "attendance", attendance.id,
           f"Added walk-in {attendance.id} to session {attendance.session_id} as {attendance.outcome.value}", now)


def walk_in_removed(actor: User | None, attendance: Attendance, now: datetime | None = None) -> None:
    """A walk-in taken off a register."""
    record(actor, "attendance.walk_in_removed", "attendance", attendance.id,
           f"Removed walk-in {attendance.id} from session {attendance.session_id}", now)


def register_completed(actor: User | None, session_id: int, now: datetime | None = None) -> None:
    """A session's register signed off as complete."""
    record(actor, "register.completed", "session", session_id, f"Completed the register of session {session_id}", now)


def certificates_exported(actor: User | None, session_id: int, count: int, now: datetime | None = None) -> None:
    """Every certificate of a session downloaded as one PDF."""
    noun = "certificate" if count == 1 else "certificates"
    record_export(actor, "export.bulk_certificates", "session", session_id,
                  f"Downloaded {count} {noun} of session {session_id}", now)


def sign_in_sheet_exported(actor: User | None, session_id: int, booked: int, now: datetime | None = None) -> None:
    """A session's sign-in sheet (names and agencies of everyone booked) downloaded."""
    record_export(actor, "export.sign_in_sheet", "session", session_id,
                  f"Downloaded the sign-in sheet of session {session_id} ({booked} booked)", now)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilters:
    """What the coordinator filtered by; None means any."""

    action_prefix: str | None = None
    actor_email: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    date_from: date | None = None  # London dates, inclusive
    date_to: date | None = None


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_email: str | None  # None: the system, or an account since erased


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filtered(query: Select, filters: AuditFilters) -> Select:
    if filters.action_prefix:
        query = query.where(AuditEvent.action.startswith(filters.action_prefix.strip().lower(), autoescape=True))
    if filters.actor_email:
        actor_ids = select(User.id).where(User.email == filters.actor_email.strip().lower())
        query = query.where(AuditEvent.actor_id.in_(actor_ids))
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type.strip().lower())
    if filters.object_id is not None:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.date_from is not None:
        query = query.where(AuditEvent.occurred_at >= london_to_utc(filters.date_from, time(0, 0)))
    if filters.date_to is not None:
        query = query.where(AuditEvent.occurred_at < london_to_utc(filters.date_to + timedelta(days=1), time(0, 0)))
    return query


def events_page(filters: AuditFilters, page: int = 1, per_page: int = 50) -> AuditPage:
    """One page of matching events, newest first, with each actor's email: two queries."""
    total = db.session.scalar(_filtered(select(func.count(AuditEvent.id)), filters))
    rows = db.session.execute(
        _filtered(select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id), filters)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AuditPage([AuditRow(event, email) for event, email in rows], total, page, per_page)
