"""Booking operations. Each public function is one user action and one transaction.

Capacity is enforced under a lock on the session row (pretix's rule: lock late, once per
transaction, before checking capacity). On PostgreSQL that is SELECT ... FOR UPDATE; on
SQLite the write transaction began with BEGIN IMMEDIATE, which serialises writers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..catalogue import signals
from ..catalogue.models import CourseSession, SessionStatus
from ..db import utcnow, write_transaction
from ..extensions import db
from ..timeutil import london_to_utc, to_london, working_days_before
from .errors import (
    AlreadyBooked,
    BookingClosed,
    InvalidTransition,
    NotAllowed,
    OfferExpired,
    SessionCancelledError,
    SessionInPast,
    TransferRefused,
)
from .models import ACTIVE_STATUSES, Booking, BookingStatus


# ---------------------------------------------------------------------------
# Rules that are pure functions of a session and the time
# ---------------------------------------------------------------------------

def cancellation_deadline(session: CourseSession, working_days: int | None = None) -> datetime:
    """The last moment a booking can be cancelled without being a late cancellation.

    That is midnight (London) at the end of the working day that falls `working_days`
    working days before the session's date.
    """
    if working_days is None:
        working_days = current_app.config["CANCELLATION_WORKING_DAYS"]
    session_day = to_london(session.starts_at).date()
    last_day = working_days_before(session_day, working_days)
    return london_to_utc(last_day + timedelta(days=1), time(0, 0))


def _check_bookable(session: CourseSession, now: datetime, *, staff: bool = False) -> None:
    """Refuse cancelled and past sessions; only coordinators may book after the close date."""
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelledError()
    if now >= session.starts_at:
        raise SessionInPast()
    if now >= session.booking_closes_at and not staff:
        raise BookingClosed()


def _lock_session(session_id: int) -> CourseSession:
    stmt = (
        select(CourseSession)
        .where(CourseSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session = db.session.execute(stmt).unique().scalar_one_or_none()
    if session is None:
        raise LookupError(session_id)
    return session


def _load_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        raise LookupError(booking_id)
    return booking


def _may_manage(actor: User, booking: Booking) -> bool:
    return actor.is_coordinator or booking.user_id == actor.id


def _sync_places_taken(session: CourseSession) -> None:
    db.session.flush()
    session.places_taken = db.session.scalar(
        select(func.count(Booking.id)).where(Booking.session_id == session.id, Booking.holds_place)
    )


def _offer_expiry(session: CourseSession, now: datetime) -> datetime:
    hours = current_app.config["OFFER_HOURS"]
    return min(now + timedelta(hours=hours), session.starts_at)


def _release_expired_offers(session: CourseSession, now: datetime) -> list[Booking]:
    expired = db.session.scalars(
        select(Booking).where(
            Booking.session_id == session.id,
            Booking.status == BookingStatus.OFFERED,
            Booking.offer_expires_at <= now,
        )
    ).all()
    for booking in expired:
        booking.expire(now)
    return list(expired)


def _offer_freed_places(session: CourseSession, now: datetime) -> list[Booking]:
    """Offer free places to the people waiting longest. Caller holds the session lock."""
    _release_expired_offers(session, now)
    _sync_places_taken(session)
    offers: list[Booking] = []
    if session.status != SessionStatus.SCHEDULED or now >= session.starts_at:
        return offers
    free = session.capacity - session.places_taken
    if free <= 0:
        return offers
    waiting = db.session.scalars(
        select(Booking)
        .where(Booking.session_id == session.id, Booking.status == BookingStatus.WAITLISTED)
        .order_by(Booking.id)
        .limit(free)
    ).all()
    expires = _offer_expiry(session, now)
    for booking in waiting:
        booking.offer(now, expires)
        offers.append(booking)
    _sync_places_taken(session)
    return offers


def _active_booking(session_id: int, user_id: int) -> Booking | None:
    return db.session.scalars(
        select(Booking).where(
            Booking.session_id == session_id, Booking.user_id == user_id, Booking.is_active
        )
    ).first()


def _place_or_queue(session: CourseSession, user: User, by: User | None, now: datetime,
                    overbook: bool, previous: Booking | None = None) -> Booking:
    """Create the booking for `user` on the locked `session`."""
    if _active_booking(session.id, user.id) is not None:
        raise AlreadyBooked()
    # Anyone already queued is offered a free place first, so a newcomer never jumps the queue.
    _offer_freed_places(session, now)
    booking = Booking(
        session_id=session.id,
        user_id=user.id,
        created_by_id=(by or user).id,
        queued_at=utcnow(),  # the real moment the claim was written, under the lock
        created_at=now,
        status_changed_at=now,
        previous_booking_id=previous.id if previous else None,
    )
    if session.places_taken < session.capacity:
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
    elif overbook:
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
        booking.overbooked = True
    else:
        booking.status = BookingStatus.WAITLISTED
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the partial unique index is the last line of defence
        raise AlreadyBooked() from exc
    _sync_places_taken(session)
    return booking


# ---------------------------------------------------------------------------
# User actions
# ---------------------------------------------------------------------------

def book_place(session_id: int, user: User, *, by: User | None = None, now: datetime | None = None,
               overbook: bool = False) -> Booking:
    """Book `user` on a session, or put them on its waiting list when it is full.

    `by` is the coordinator booking on someone's behalf; only they may `overbook`.
    """
    now = now or utcnow()
    if overbook and not (by and by.is_coordinator):
        raise NotAllowed("Only a coordinator can overbook a session")
    with write_transaction():
        session = _lock_session(session_id)
        _check_bookable(session, now, staff=bool(by and by.is_coordinator))
        booking = _place_or_queue(session, user, by, now, overbook)
    return booking


def cancel_booking(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Cancel a place, leave the waiting list, or decline an offer; free places move on."""
    now = now or utcnow()
    with write_transaction():
        booking = _load_booking(booking_id)
        if not _may_manage(actor, booking):
            raise NotAllowed()
        session = _lock_session(booking.session_id)
        booking = _load_booking(booking_id)  # re-read under the lock
        if booking.status == BookingStatus.CONFIRMED:
            if now >= session.starts_at:
                raise SessionInPast("You cannot cancel a session that has already started")
            booking.cancel(now, late=now >= cancellation_deadline(session))
        elif booking.status == BookingStatus.WAITLISTED:
            booking.withdraw(now)
        elif booking.status == BookingStatus.OFFERED:
            booking.decline(now)
        else:
            raise InvalidTransition("This booking is no longer active")
        _offer_freed_places(session, now)
    return booking


def accept_offer(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Take up an offered place before the offer expires."""
    now = now or utcnow()
    with write_transaction():
        booking = _load_booking(booking_id)
        if booking.user_id != actor.id and not actor.is_coordinator:
            raise NotAllowed()
        session = _lock_session(booking.session_id)
        booking = _load_booking(booking_id)
        if booking.status != BookingStatus.OFFERED:
            raise InvalidTransition("There is no open offer on this booking")
        if booking.offer_has_expired(now):
            _offer_freed_places(session, now)
            expired = True
        else:
            booking.confirm(now)
            _sync_places_taken(session)
            expired = False
    if expired:
        raise OfferExpired()
    return booking


def decline_offer(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Turn down an offered place; it passes to the next person waiting."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise LookupError(booking_id)
    if booking.status != BookingStatus.OFFERED:
        raise InvalidTransition("There is no open offer on this booking")
    return cancel_booking(booking_id, actor, now=now)


def expire_offers(now: datetime | None = None) -> int:
    """Expire every lapsed offer and pass the places on. Safe to run repeatedly."""
    now = now or utcnow()
    session_ids = db.session.scalars(
        select(Booking.session_id)
        .where(Booking.status == BookingStatus.OFFERED, Booking.offer_expires_at <= now)
        .distinct()
    ).all()
    expired = 0
    for session_id in session_ids:
        with write_transaction():
            session = _lock_session(session_id)
            expired += len(_release_expired_offers(session, now))
            _offer_freed_places(session, now)
    return expired


def transfer_booking(booking_id: int, actor: User, colleague_email: str, *,
                     now: datetime | None = None) -> Booking:
    """Hand a confirmed place to a colleague from the same agency."""
    now = now or utcnow()
    with write_transaction():
        booking = _load_booking(booking_id)
        if not _may_manage(actor, booking):
            raise NotAllowed()
        session = _lock_session(booking.session_id)
        booking = _load_booking(booking_id)
        if booking.status != BookingStatus.CONFIRMED:
            raise TransferRefused("Only a confirmed place can be transferred")
        if now >= session.starts_at:
            raise SessionInPast("You cannot transfer a place once the session has started")
        colleague = db.session.scalar(
            select(User).where(User.email == colleague_email.strip().lower(), User.active)
        )
        if colleague is None:
            raise TransferRefused(
                "There is no account with that email address. Ask your colleague to register first"
            )
        if colleague.id == booking.user_id:
            raise TransferRefused("You cannot transfer a place to the same person")
        if colleague.agency_id != booking.user.agency_id:
            raise TransferRefused("You can only transfer a place to a colleague from the same agency")
        if _active_booking(session.id, colleague.id) is not None:
            raise TransferRefused("Your colleague already has a booking or waiting list place for this session")
        booking.mark_transferred(now)
        new = Booking(
            session_id=session.id,
            user_id=colleague.id,
            created_by_id=actor.id,
            status=BookingStatus.CONFIRMED,
            queued_at=now,
            created_at=now,
            status_changed_at=now,
            confirmed_at=now,
            overbooked=booking.overbooked,
            previous_booking_id=booking.id,
        )
        db.session.add(new)
        _sync_places_taken(session)
    return new


def move_booking(booking_id: int, to_session_id: int, by: User, *, now: datetime | None = None,
                 overbook: bool = False) -> Booking:
    """Move a booking to another session of any course (coordinators only)."""
    now = now or utcnow()
    if not by.is_coordinator:
        raise NotAllowed("Only a coordinator can move a booking")
    with write_transaction():
        booking = _load_booking(booking_id)
        if booking.session_id == to_session_id:
            raise InvalidTransition("The booking is already on that session")
        # Lock both sessions in id order so two opposite moves cannot deadlock.
        locked = {sid: _lock_session(sid) for sid in sorted({booking.session_id, to_session_id})}
        source, target = locked[booking.session_id], locked[to_session_id]
        booking = _load_booking(booking_id)
        if not booking.can_become(BookingStatus.MOVED):
            raise InvalidTransition("Only an active booking can be moved")
        _check_bookable(target, now, staff=True)
        booking.mark_moved(now)
        db.session.flush()
        new = _place_or_queue(target, booking.user, by, now, overbook, previous=booking)
        _offer_freed_places(source, now)
    return new


@signals.session_cancelled.connect
def _release_bookings_of_cancelled_session(session: CourseSession, now: datetime, **_kw) -> None:
    """Close every live booking on a cancelled session (inside the cancelling transaction)."""
    for booking in db.session.scalars(
        select(Booking).where(Booking.session_id == session.id, Booking.is_active)
    ):
        booking.mark_session_cancelled(now)
    _sync_places_taken(session)


@signals.capacity_raised.connect
def _offer_new_places(session: CourseSession, now: datetime, **_kw) -> None:
    """Offer places added by a capacity increase to the people waiting."""
    _offer_freed_places(session, now)


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------

def waiting_list_position(booking: Booking) -> int | None:
    """1 for the first person waiting; None when the booking is not on the waiting list."""
    if booking.status != BookingStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.session_id == booking.session_id,
            Booking.status == BookingStatus.WAITLISTED,
            Booking.id < booking.id,
        )
    )
    return ahead + 1


def booking_for(actor: User, booking_id: int) -> Booking | None:
    """The booking if `actor` may see it (their own, or any for a coordinator), else None."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not _may_manage(actor, booking):
        return None
    return booking


def active_booking(session_id: int, user: User) -> Booking | None:
    """The person's live booking on a session, if any."""
    return _active_booking(session_id, user.id)


@dataclass
class MyTraining:
    upcoming: list[Booking]
    waiting: list[tuple[Booking, int]]
    offers: list[Booking]
    past: list[Booking]


def my_training(user: User, now: datetime | None = None) -> MyTraining:
    """A person's bookings, waiting-list places, open offers and past courses."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Booking)
        .join(Booking.session)
        .where(Booking.user_id == user.id)
        .order_by(CourseSession.starts_at)
    ).all()
    upcoming, waiting, offers, past = [], [], [], []
    waiting_ids = [b.id for b in rows if b.status == BookingStatus.WAITLISTED and b.session.starts_at > now]
    positions = _positions(waiting_ids)
    for b in rows:
        future = b.session.starts_at > now
        if b.status == BookingStatus.CONFIRMED and future:
            upcoming.append(b)
        elif b.status == BookingStatus.WAITLISTED and future:
            waiting.append((b, positions[b.id]))
        elif b.status == BookingStatus.OFFERED and future and not b.offer_has_expired(now):
            offers.append(b)
        elif b.status == BookingStatus.CONFIRMED:
            past.append(b)
    past.reverse()
    return MyTraining(upcoming, waiting, offers, past)


def _positions(booking_ids: list[int]) -> dict[int, int]:
    """Waiting-list positions for several bookings in one query."""
    if not booking_ids:
        return {}
    other = db.aliased(Booking)
    stmt = (
        select(Booking.id, func.count(other.id))
        .join(other, (other.session_id == Booking.session_id) & (other.status == BookingStatus.WAITLISTED)
              & (other.id <= Booking.id))
        .where(Booking.id.in_(booking_ids))
        .group_by(Booking.id)
    )
    return {bid: count for bid, count in db.session.execute(stmt)}


def session_bookings(session_id: int) -> list[Booking]:
    """All bookings of a session, live ones first, waiting list in order."""
    return list(
        db.session.scalars(
            select(Booking).where(Booking.session_id == session_id).order_by(Booking.id)
        )
    )

