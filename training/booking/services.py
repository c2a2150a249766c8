"""Booking operations. Each public function is one user action and one transaction.

Capacity is enforced under a lock on the session row (pretix's rule: lock late, once per
transaction, before checking capacity). On PostgreSQL that is SELECT ... FOR UPDATE; on
SQLite the write transaction began with BEGIN IMMEDIATE, which serialises writers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import User
from ..audit import services as audit
from ..catalogue import signals
from ..catalogue.models import Course, CourseSession, SessionStatus
from ..catalogue.services import Page, in_catalogue, lock_session, paginate
from ..db import insert_loaded, update_loaded, utcnow, write_transaction
from ..errors import DomainError
from ..extensions import db
from ..timeutil import london_to_utc, to_london, working_days_before
from .errors import (
    AlreadyBooked,
    ApprovalClosed,
    ApprovalExpired,
    BookingClosed,
    CourseNotPublished,
    InvalidTransition,
    MoveRefused,
    NotAllowed,
    OfferExpired,
    PersonNotFound,
    SessionCancelledError,
    SessionInPast,
    TransferRefused,
)
from .models import Booking, BookingStatus
from .signals import BookingEvent, announce

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
    # With no notice period configured, "the end of that day" would fall after the start.
    return min(london_to_utc(last_day + timedelta(days=1), time(0, 0)), session.starts_at)


def _check_bookable(session: CourseSession, now: datetime, *, staff: bool = False) -> None:
    """Refuse cancelled and past sessions; only coordinators may book after the close date, or
    on a course that is not in the catalogue (a draft, or an imported historic course)."""
    if session.status == SessionStatus.CANCELLED:
        raise SessionCancelledError()
    if now >= session.starts_at:
        raise SessionInPast()
    if now >= session.booking_closes_at and not staff:
        raise BookingClosed()
    if not session.course.active and not staff:
        raise CourseNotPublished()


def booking_refusal(session: CourseSession, now: datetime, *, staff: bool = False) -> DomainError | None:
    """Why a professional (or with `staff`, a coordinator) cannot book now; None while open."""
    try:
        _check_bookable(session, now, staff=staff)
    except DomainError as err:
        return err
    return None


def can_see_joining_link(session: CourseSession, user: User | None) -> bool:
    """Only people with a confirmed place, the session's trainers and coordinators see the link.

    The link is the way into an online session: someone waiting, offered, cancelled or
    without a booking must not be able to join it.
    """
    if user is None or not user.is_authenticated:
        return False
    if user.is_coordinator or session.is_trainer(user):
        return True
    booking = _active_booking(session.id, user.id)
    return booking is not None and booking.status == BookingStatus.CONFIRMED


def approval_required(session: CourseSession) -> bool:
    """Whether a person's own booking on this session waits for their line manager's approval."""
    return bool(current_app.config["MANAGER_APPROVAL"] or session.course.requires_approval)


def _needs_approval(session: CourseSession, user: User, by: User | None) -> bool:
    # A coordinator booking someone on has the authority to do so: only self-bookings wait.
    return approval_required(session) and (by is None or by.id == user.id)


# ---------------------------------------------------------------------------
# Helpers that run inside a write transaction
# ---------------------------------------------------------------------------

def _load_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        raise LookupError(booking_id)
    return booking


def _may_manage(actor: User, booking: Booking) -> bool:
    return actor.is_coordinator or booking.user_id == actor.id


def _locked_booking(booking_id: int, actor: User) -> tuple[Booking, CourseSession]:
    """The booking, re-read after locking its session, once `actor` is known to be allowed."""
    booking = _load_booking(booking_id)
    if not _may_manage(actor, booking):
        raise NotAllowed()
    session = lock_session(booking.session_id)
    # Another request may have changed it while we waited for the lock.
    return _load_booking(booking_id), session


def _sync_places_taken(session: CourseSession) -> None:
    db.session.flush()
    session.places_taken = db.session.scalar(
        select(func.count(Booking.id)).where(Booking.session_id == session.id, Booking.holds_place)
    )


def _offer_expiry(session: CourseSession, now: datetime) -> datetime:
    hours = current_app.config["OFFER_HOURS"]
    return min(now + timedelta(hours=hours), session.starts_at)


def _lapse(session: CourseSession, now: datetime, condition, transition: Callable[[Booking], None],
           event: BookingEvent) -> list[Booking]:
    """Apply `transition` to this locked session's bookings that match `condition`, oldest first,
    and announce `event` for each: offers, approval requests and approval holds all run out so."""
    lapsed = db.session.scalars(
        select(Booking).where(Booking.session_id == session.id, condition).order_by(Booking.id)
    ).all()
    for booking in lapsed:
        transition(booking)
        announce(booking, event, now)
    return list(lapsed)


def _offer_ran_out(now: datetime):
    return and_(Booking.status == BookingStatus.OFFERED, Booking.offer_expires_at <= now)


def _request_ran_out(now: datetime):
    return and_(Booking.status == BookingStatus.AWAITING_APPROVAL, Booking.approval_expires_at <= now)


def _hold_ran_out(now: datetime):
    return and_(Booking.status == BookingStatus.AWAITING_APPROVAL, Booking.approval_holds_place.is_(True),
                Booking.approval_hold_until <= now)


def _release_expired_offers(session: CourseSession, now: datetime) -> list[Booking]:
    """Close offers on this locked session that were not accepted in time."""
    return _lapse(session, now, _offer_ran_out(now), lambda booking: booking.expire(now), BookingEvent.OFFER_EXPIRED)


def _expire_approval_requests(session: CourseSession, now: datetime) -> list[Booking]:
    """Close requests on this locked session that the manager did not answer in time."""
    return _lapse(session, now, _request_ran_out(now), lambda booking: booking.expire_approval(now),
                  BookingEvent.APPROVAL_EXPIRED)


def _release_lapsed_holds(session: CourseSession, now: datetime) -> list[Booking]:
    """Stop holding places for requests on this locked session whose hold ran out."""
    return _lapse(session, now, _hold_ran_out(now), Booking.release_approval_hold, BookingEvent.APPROVAL_HOLD_RELEASED)


@dataclass(frozen=True)
class _Queue:
    """A locked session's bookings as one statement reads them (see `_read_queue`)."""

    lapsed: bool  # an offer, approval request or approval hold has run out
    held: int  # places held
    waiting: int  # people on the waiting list
    already_booked: bool = False  # the person asked about has a live booking


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@cache
def _queue_statement() -> Select:
    """Built once: making the expression costs more than running it (see `_read_queue`)."""
    now = bindparam("now")
    lapsed = or_(_offer_ran_out(now), _request_ran_out(now), _hold_ran_out(now))
    # With no person asked about, user_id = NULL matches no booking.
    mine = and_(Booking.user_id == bindparam("user_id"), Booking.is_active)
    return (
        select(_count_where(lapsed), _count_where(Booking.holds_place),
               _count_where(Booking.status == BookingStatus.WAITLISTED), _count_where(mine))
        .where(Booking.session_id == bindparam("session_id"))
    )


def _read_queue(session: CourseSession, now: datetime, user_id: int | None = None) -> _Queue:
    """What the booking rules need to know about this locked session's bookings, in one pass
    over them: a booking is the busiest write, and each query is a round trip under the lock.
    The caller's own changes are flushed first, so they are counted."""
    db.session.flush()
    # On the session's connection: a statement of plain values needs none of the ORM's session work.
    row = db.session.connection().execute(_queue_statement(),
                                          {"now": now, "user_id": user_id, "session_id": session.id}).one()
    return _Queue(lapsed=row[0] > 0, held=row[1], waiting=row[2], already_booked=row[3] > 0)


def _offer_freed_places(session: CourseSession, now: datetime, queue: _Queue | None = None) -> list[Booking]:
    """Offer free places to the people waiting longest. Caller holds the session lock.

    Lapsed offers, approval requests and approval holds are closed first, so the places they
    held are counted as free even when `tick` has not run yet. `queue` is the session's
    bookings as read since the last change to them, if the caller has it.
    """
    queue = queue or _read_queue(session, now)
    if queue.lapsed:
        _expire_approval_requests(session, now)
        _release_lapsed_holds(session, now)
        _release_expired_offers(session, now)
        _sync_places_taken(session)
    elif session.places_taken != queue.held:
        # Only when it differs: even an unchanged value makes the session dirty, and a dirty
        # session costs the commit a unit-of-work pass on every booking.
        session.places_taken = queue.held
    offers: list[Booking] = []
    if session.status != SessionStatus.SCHEDULED or now >= session.starts_at:
        return offers
    free = session.capacity - session.places_taken
    # Closing what ran out never adds anyone to the waiting list, so its count still holds.
    if free <= 0 or not queue.waiting:
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
        announce(booking, BookingEvent.OFFERED, now)
        offers.append(booking)
    if offers:
        _sync_places_taken(session)
    return offers


def _active_booking(session_id: int, user_id: int) -> Booking | None:
    return db.session.scalars(
        select(Booking).where(
            Booking.session_id == session_id, Booking.user_id == user_id, Booking.is_active
        )
    ).first()


def _already_booked(user: User, by: User | None) -> AlreadyBooked:
    if by is not None and by.id != user.id:
        return AlreadyBooked(f"{user.name} already has a booking or waiting list place for this session")
    return AlreadyBooked()


def _place_or_queue(session: CourseSession, user: User, by: User | None, now: datetime,
                    overbook: bool, previous: Booking | None = None, *, approval: bool = False) -> Booking:
    """Create the booking for `user` on the locked `session`.

    A new booking (not a move, whose caller announces it) is announced as booked or waitlisted;
    with `approval` it waits for the line manager, holding a place if one is free.
    """
    queue = _read_queue(session, now, user.id)
    if queue.already_booked:
        raise _already_booked(user, by)
    # Anyone already queued is offered a free place first, so a newcomer never jumps the queue.
    offers = _offer_freed_places(session, now, queue)
    booking = Booking(
        session_id=session.id,
        user_id=user.id,
        created_by_id=(by or user).id,
        queued_at=utcnow(),  # the real moment the claim was written, under the lock
        created_at=now,
        status_changed_at=now,
        previous_booking_id=previous.id if previous else None,
    )
    if approval:
        booking.status = BookingStatus.AWAITING_APPROVAL
        booking.approval_expires_at = min(
            now + timedelta(days=current_app.config["APPROVAL_LINK_DAYS"]), session.starts_at
        )
        if session.places_taken < session.capacity:
            booking.approval_holds_place = True
            booking.approval_hold_until = min(
                now + timedelta(hours=current_app.config["APPROVAL_HOLD_HOURS"]), session.starts_at
            )
    elif session.places_taken < session.capacity:
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
    elif overbook:
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
        booking.overbooked = True
    else:
        booking.status = BookingStatus.WAITLISTED
    try:
        insert_loaded(booking)
    except IntegrityError as exc:  # the partial unique index is the last line of defence
        raise _already_booked(user, by) from exc
    # Both are loaded already: reading them from the booking must not cost a query.
    set_committed_value(booking, "session", session)
    set_committed_value(booking, "user", user)
    # Counted just above under the same lock, so one more place, not a count again; and the
    # newest id on the waiting list is its last place (ids are taken under the lock).
    if booking.holds_place:
        # Written now, not left for the commit's flush: then the booking's emails, with nothing
        # else waiting, are written at once too (see notifications.outbox.written_together).
        update_loaded(session, places_taken=session.places_taken + 1)
    elif booking.status == BookingStatus.WAITLISTED and not queue.lapsed:
        booking.remember_position(queue.waiting - len(offers) + 1)
    if previous is None:
        event = {
            BookingStatus.CONFIRMED: BookingEvent.BOOKED,
            BookingStatus.WAITLISTED: BookingEvent.WAITLISTED,
            BookingStatus.AWAITING_APPROVAL: BookingEvent.AWAITING_APPROVAL,
        }[booking.status]
        announce(booking, event, now, by)
    return booking


# ---------------------------------------------------------------------------
# User actions
# ---------------------------------------------------------------------------

def book_place(session_id: int, user: User, *, by: User | None = None, now: datetime | None = None,
               overbook: bool = False) -> Booking:
    """Book `user` on a session, or put them on its waiting list when it is full.

    `by` is the coordinator booking on someone's behalf; only they may `overbook`, and they
    may still book someone after the close date (but never on a cancelled or past session).
    When manager approval applies (globally or for the course) a person's own booking waits
    for their line manager instead; a coordinator's booking never does.
    """
    now = now or utcnow()
    staff = bool(by and by.is_coordinator)
    if overbook and not staff:
        raise NotAllowed("Only a coordinator can overbook a session")
    if not user.active:
        raise NotAllowed("This account has been deactivated")
    with write_transaction():
        session = lock_session(session_id)
        _check_bookable(session, now, staff=staff)
        booking = _place_or_queue(session, user, by, now, overbook,
                                  approval=_needs_approval(session, user, by))
        audit.booking_made(by, booking, now)
    return booking


def book_on_behalf(session_id: int, email: str, by: User, *, overbook: bool = False,
                   now: datetime | None = None) -> Booking:
    """A coordinator books the person with this work email on a session."""
    if not by.is_coordinator:
        raise NotAllowed("Only a coordinator can book on someone's behalf")
    person = db.session.scalar(select(User).where(User.email == email.strip().lower(), User.active))
    if person is None:
        raise PersonNotFound()
    return book_place(session_id, person, by=by, now=now, overbook=overbook)


def cancel_booking(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Cancel a place, leave the waiting list, decline an offer or withdraw a request awaiting
    approval; free places move on.

    A confirmed place cancelled after the cancellation deadline is a late cancellation.
    """
    now = now or utcnow()
    with write_transaction():
        booking, session = _locked_booking(booking_id, actor)
        # An offer that ran out is recorded as expired, not as declined.
        _release_expired_offers(session, now)
        if booking.status == BookingStatus.CONFIRMED:
            if now >= session.starts_at:
                raise SessionInPast("You cannot cancel a place once the session has started")
            booking.cancel(now, late=now >= cancellation_deadline(session))
            announce(booking, BookingEvent.CANCELLED, now, actor)
        elif booking.status == BookingStatus.WAITLISTED:
            booking.withdraw(now)
            announce(booking, BookingEvent.WITHDRAWN, now, actor)
        elif booking.status == BookingStatus.OFFERED:
            booking.decline(now)
            announce(booking, BookingEvent.OFFER_DECLINED, now, actor)
        elif booking.status == BookingStatus.AWAITING_APPROVAL:
            # Withdrawing a request is never late: no place was confirmed.
            booking.cancel(now, late=False)
            announce(booking, BookingEvent.WITHDRAWN, now, actor)
        elif booking.status != BookingStatus.EXPIRED:
            raise InvalidTransition("This booking is no longer active")
        expired = booking.status == BookingStatus.EXPIRED
        audit.booking_changed(actor, booking, "booking.cancelled", now)
        _offer_freed_places(session, now)
    if expired:
        raise OfferExpired()
    return booking


def accept_offer(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Take up an offered place before the offer expires."""
    now = now or utcnow()
    with write_transaction():
        booking, session = _locked_booking(booking_id, actor)
        if booking.status != BookingStatus.OFFERED:
            raise InvalidTransition("There is no open offer on this booking")
        if now >= session.starts_at:
            # Offers end at the start, but a session can be rescheduled after an offer is made.
            raise SessionInPast("This session has already started")
        expired = booking.offer_has_expired(now)
        if expired:
            # Commit the expiry and pass the place on before telling the person.
            _offer_freed_places(session, now)
        else:
            booking.confirm(now)
            announce(booking, BookingEvent.OFFER_ACCEPTED, now, actor)
            audit.booking_changed(actor, booking, "booking.offer_accepted", now)
            _sync_places_taken(session)
    if expired:
        raise OfferExpired()
    return booking


def decline_offer(booking_id: int, actor: User, *, now: datetime | None = None) -> Booking:
    """Turn down an offered place; it passes to the next person waiting."""
    now = now or utcnow()
    with write_transaction():
        booking, session = _locked_booking(booking_id, actor)
        # Checked under the lock: an offer accepted in another tab must not be cancelled here.
        if booking.status != BookingStatus.OFFERED:
            raise InvalidTransition("There is no open offer on this booking")
        expired = booking.offer_has_expired(now)
        if expired:
            booking.expire(now)
            announce(booking, BookingEvent.OFFER_EXPIRED, now)
        else:
            booking.decline(now)
            announce(booking, BookingEvent.OFFER_DECLINED, now, actor)
            audit.booking_changed(actor, booking, "booking.offer_declined", now)
        _offer_freed_places(session, now)
    if expired:
        raise OfferExpired()
    return booking


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
            session = lock_session(session_id)
            expired += len(_release_expired_offers(session, now))
            _offer_freed_places(session, now)
    return expired


def transfer_booking(booking_id: int, actor: User, colleague_email: str, *,
                     now: datetime | None = None) -> Booking:
    """Hand a confirmed place to a colleague from the same agency."""
    now = now or utcnow()
    with write_transaction():
        booking, session = _locked_booking(booking_id, actor)
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
            raise TransferRefused("You cannot transfer a place to the person who already holds it")
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
        db.session.flush()
        announce(booking, BookingEvent.TRANSFERRED, now, actor, to=new)
        announce(new, BookingEvent.BOOKED, now, actor)
        audit.booking_changed(actor, booking, "booking.transferred", now)
        _sync_places_taken(session)
    return new


def move_booking(booking_id: int, to_session_id: int, by: User, *, now: datetime | None = None,
                 overbook: bool = False) -> Booking:
    """Move a booking to another session of any course (coordinators only).

    The person gets a place on the target if one is free (or it is overbooked on purpose),
    otherwise its waiting list; the place they leave is offered to the source's waiting list.
    """
    now = now or utcnow()
    if not by.is_coordinator:
        raise NotAllowed("Only a coordinator can move a booking")
    with write_transaction():
        booking = _load_booking(booking_id)
        if booking.session_id == to_session_id:
            raise MoveRefused("The booking is already on that session")
        # Lock both sessions in id order so two opposite moves cannot deadlock.
        locked = {sid: lock_session(sid) for sid in sorted({booking.session_id, to_session_id})}
        source, target = locked[booking.session_id], locked[to_session_id]
        booking = _load_booking(booking_id)
        if not booking.can_become(BookingStatus.MOVED):
            raise MoveRefused("Only a live booking or waiting list place can be moved")
        if now >= source.starts_at:
            # Its register belongs to the session it was for.
            raise MoveRefused("You cannot move a booking once its session has started")
        _check_bookable(target, now, staff=True)
        booking.mark_moved(now)
        db.session.flush()
        new = _place_or_queue(target, booking.user, by, now, overbook, previous=booking)
        announce(new, BookingEvent.MOVED, now, by, previous=booking)
        audit.booking_moved(by, booking, new, now)
        _offer_freed_places(source, now)
    return new


# ---------------------------------------------------------------------------
# Manager approval (the manager acts through a signed link, without an account)
# ---------------------------------------------------------------------------

def _locked_approval(booking_id: int) -> tuple[Booking, CourseSession]:
    booking = _load_booking(booking_id)
    session = lock_session(booking.session_id)
    return _load_booking(booking_id), session


def _check_awaiting(booking: Booking, now: datetime) -> None:
    """Refuse a decision on a request that is closed, with a message saying what happened."""
    if booking.status != BookingStatus.AWAITING_APPROVAL:
        raise ApprovalClosed(approval_outcome(booking))
    if booking.approval_expires_at is not None and now >= booking.approval_expires_at:
        raise ApprovalExpired()


def approval_outcome(booking: Booking) -> str:
    """What became of a request that no longer awaits approval, in a sentence."""
    if booking.approval_decided_at is not None:
        if booking.status == BookingStatus.NOT_APPROVED:
            return "This booking has already been declined"
        return "This booking has already been approved"
    return {
        BookingStatus.APPROVAL_EXPIRED: "This request expired before it was answered",
        BookingStatus.SESSION_CANCELLED: "This session has been cancelled",
        BookingStatus.MOVED: "A training coordinator has moved this booking to another session",
        BookingStatus.CANCELLED: "This request has been withdrawn",
    }.get(booking.status, "This booking no longer needs approval")


def approve_booking(booking_id: int, now: datetime | None = None) -> Booking:
    """The manager approves: a place if one is held or free, otherwise the waiting list."""
    now = now or utcnow()
    with write_transaction():
        booking, session = _locked_approval(booking_id)
        _check_awaiting(booking, now)
        if session.status == SessionStatus.CANCELLED:
            raise SessionCancelledError("This session has been cancelled, so the booking cannot be approved")
        if now >= session.starts_at:
            raise SessionInPast("This session has already started, so the booking can no longer be approved")
        # Serve the queue first (closing lapsed holds, this one's too): an approval that comes
        # after its hold ran out must not take a place from someone waiting.
        _offer_freed_places(session, now)
        if booking.approval_holds_place or session.places_taken < session.capacity:
            booking.confirm(now)
            event = BookingEvent.BOOKED
        else:
            booking.queue(now)
            event = BookingEvent.WAITLISTED
        booking.approval_decided_at = now
        _sync_places_taken(session)
        announce(booking, event, now)
    return booking


def decline_booking(booking_id: int, reason: str | None = None, now: datetime | None = None) -> Booking:
    """The manager declines: the request closes, and any place it held goes to the waiting list."""
    now = now or utcnow()
    reason = (reason or "").strip()[:500] or None
    with write_transaction():
        booking, session = _locked_approval(booking_id)
        _check_awaiting(booking, now)
        booking.refuse_approval(now)
        # Kept with the booking: the person sees it, and it is in their subject access export.
        booking.note = reason
        announce(booking, BookingEvent.NOT_APPROVED, now, reason=reason)
        _offer_freed_places(session, now)
    return booking


def _sessions_with(*conditions) -> list[int]:
    return list(db.session.scalars(
        select(Booking.session_id)
        .where(Booking.status == BookingStatus.AWAITING_APPROVAL, *conditions)
        .distinct()
    ))


def release_lapsed_approval_holds(now: datetime | None = None) -> int:
    """Stop holding places for requests whose hold ran out; the places move on. Idempotent."""
    now = now or utcnow()
    released = 0
    for session_id in _sessions_with(Booking.approval_holds_place.is_(True), Booking.approval_hold_until <= now):
        with write_transaction():
            session = lock_session(session_id)
            released += len(_release_lapsed_holds(session, now))
            _offer_freed_places(session, now)
    return released


def expire_approval_requests(now: datetime | None = None) -> int:
    """Close requests the manager did not answer in time; the places move on. Idempotent."""
    now = now or utcnow()
    expired = 0
    for session_id in _sessions_with(Booking.approval_expires_at <= now):
        with write_transaction():
            session = lock_session(session_id)
            expired += len(_expire_approval_requests(session, now))
            _offer_freed_places(session, now)
    return expired


@signals.session_cancelled.connect
def _release_bookings_of_cancelled_session(session: CourseSession, now: datetime, **_kw) -> None:
    """Close every live booking on a cancelled session (inside the cancelling transaction)."""
    for booking in db.session.scalars(
        select(Booking).where(Booking.session_id == session.id, Booking.is_active)
    ):
        booking.mark_session_cancelled(now)
        announce(booking, BookingEvent.SESSION_CANCELLED, now, reason=session.cancellation_reason)
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
    if (known := booking.remembered_position()) is not None:
        return known
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


def get_session(session_id: int) -> CourseSession | None:
    """A session by id, or None."""
    return db.session.get(CourseSession, session_id)


@dataclass
class SessionPage:
    session: CourseSession
    booking: Booking | None  # the viewer's live booking
    position: int | None
    refusal: DomainError | None  # why booking is not open, if it is not
    show_joining_link: bool
    needs_approval: bool = False  # booking here waits for the line manager's approval


def session_page(session_id: int, viewer: User | None, now: datetime | None = None) -> SessionPage | None:
    """What the public session page shows to `viewer` (None when signed out)."""
    now = now or utcnow()
    session = get_session(session_id)
    if session is None or not in_catalogue(session.course, viewer):
        return None
    booking = None
    if viewer is not None and viewer.is_authenticated:
        booking = _active_booking(session.id, viewer.id)
    return SessionPage(
        session=session,
        booking=booking,
        position=waiting_list_position(booking) if booking else None,
        refusal=booking_refusal(session, now),
        show_joining_link=bool(session.online_link) and can_see_joining_link(session, viewer),
        needs_approval=approval_required(session),
    )


#: Rows in each long list on My training (past courses, evaluation forms to fill in); the rest
#: are a page away, so a long history stays quick to show.
ROWS_ON_MY_TRAINING = 10


@dataclass
class MyTraining:
    upcoming: list[Booking]
    waiting: list[tuple[Booking, int]]
    offers: list[Booking]
    past: Page[Booking]  # the latest ROWS_ON_MY_TRAINING, with the total
    awaiting: list[Booking] = field(default_factory=list)  # waiting for the manager's approval


def _bookings_shown(stmt: Select) -> Select:
    # The page shows each session's course, dates and venue: skip the eager trainers, themes
    # and the person again, which cost half the page on a long history.
    return stmt.options(lazyload(Booking.user),
                        defaultload(Booking.session).lazyload(CourseSession.trainers),
                        defaultload(Booking.session).defaultload(CourseSession.course).lazyload(Course.theme_rows))


def my_training(user: User, now: datetime | None = None) -> MyTraining:
    """A person's bookings, requests awaiting approval, waiting-list places, open offers and latest past courses."""
    now = now or utcnow()
    rows = db.session.scalars(_bookings_shown(
        select(Booking)
        .join(Booking.session)
        .where(Booking.user_id == user.id, CourseSession.starts_at > now)
        .order_by(CourseSession.starts_at, Booking.id)
    )).all()
    upcoming, waiting, offers, awaiting = [], [], [], []
    positions = _positions([b.id for b in rows if b.status == BookingStatus.WAITLISTED])
    for b in rows:
        if b.status == BookingStatus.CONFIRMED:
            upcoming.append(b)
        elif b.status == BookingStatus.WAITLISTED:
            waiting.append((b, positions[b.id]))
        elif b.status == BookingStatus.OFFERED and not b.offer_has_expired(now):
            offers.append(b)
        elif b.status == BookingStatus.AWAITING_APPROVAL:
            awaiting.append(b)
    past = past_courses(user, per_page=ROWS_ON_MY_TRAINING, now=now)
    return MyTraining(upcoming, waiting, offers, past, awaiting)


def past_courses(user: User, *, page: int = 1, per_page: int = 25, now: datetime | None = None) -> Page[Booking]:
    """A person's confirmed places on sessions that have started, latest first, one page of them."""
    now = now or utcnow()
    stmt = _bookings_shown(
        select(Booking)
        .join(Booking.session)
        .where(Booking.user_id == user.id, Booking.status == BookingStatus.CONFIRMED, CourseSession.starts_at <= now)
        .order_by(CourseSession.starts_at.desc(), Booking.id.desc())
    )
    return paginate(stmt, page, per_page)


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
    """All bookings of a session in the order they were made."""
    return list(
        db.session.scalars(
            select(Booking).where(Booking.session_id == session_id).order_by(Booking.id)
        )
    )


@dataclass
class SessionBookings:
    session: CourseSession
    confirmed: list[Booking]
    waiting: list[tuple[Booking, int]]  # with positions, first in the queue first
    offers: list[Booking]
    history: list[Booking]  # cancelled, withdrawn, declined, expired, transferred, moved
    awaiting: list[Booking] = field(default_factory=list)  # waiting for the manager's approval


def session_booking_lists(session_id: int) -> SessionBookings | None:
    """A session's bookings grouped for its coordinator page."""
    session = get_session(session_id)
    if session is None:
        return None
    confirmed, waiting, offers, history, awaiting = [], [], [], [], []
    for b in session_bookings(session_id):
        if b.status == BookingStatus.CONFIRMED:
            confirmed.append(b)
        elif b.status == BookingStatus.AWAITING_APPROVAL:
            awaiting.append(b)
        elif b.status == BookingStatus.WAITLISTED:
            waiting.append((b, len(waiting) + 1))
        elif b.status == BookingStatus.OFFERED:
            offers.append(b)
        else:
            history.append(b)
    history.sort(key=lambda b: b.status_changed_at, reverse=True)
    return SessionBookings(session, confirmed, waiting, offers, history, awaiting)


def move_targets(booking: Booking, now: datetime | None = None) -> list[CourseSession]:
    """Sessions a booking can be moved to: upcoming, not cancelled, any course."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(CourseSession)
            .where(
                CourseSession.status == SessionStatus.SCHEDULED,
                CourseSession.starts_at > now,
                CourseSession.id != booking.session_id,
            )
            .order_by(CourseSession.starts_at, CourseSession.id)
        )
    )
