"""Bookings and waiting-list places, with every status transition in one table."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstanceState, Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import CourseSession
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db
from .errors import InvalidTransition


class BookingStatus(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting-approval"  # asked the line manager; may hold a place meanwhile
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late-cancelled"
    WITHDRAWN = "withdrawn"  # left the waiting list
    DECLINED = "declined"  # turned down an offered place
    EXPIRED = "expired"  # did not answer an offer in time
    TRANSFERRED = "transferred"  # handed to a colleague
    MOVED = "moved"  # moved by a coordinator to another session
    SESSION_CANCELLED = "session-cancelled"
    NOT_APPROVED = "not-approved"  # the line manager declined
    APPROVAL_EXPIRED = "approval-expired"  # the manager did not answer in time

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    BookingStatus.AWAITING_APPROVAL: "Awaiting manager approval",
    BookingStatus.NOT_APPROVED: "Not approved by manager",
    BookingStatus.APPROVAL_EXPIRED: "Approval request expired",
    BookingStatus.CONFIRMED: "Booked",
    BookingStatus.WAITLISTED: "Waiting list",
    BookingStatus.OFFERED: "Place offered",
    BookingStatus.CANCELLED: "Cancelled",
    BookingStatus.LATE_CANCELLED: "Late cancellation",
    BookingStatus.WITHDRAWN: "Left waiting list",
    BookingStatus.DECLINED: "Offer declined",
    BookingStatus.EXPIRED: "Offer expired",
    BookingStatus.TRANSFERRED: "Transferred",
    BookingStatus.MOVED: "Moved to another session",
    BookingStatus.SESSION_CANCELLED: "Session cancelled",
}

#: Statuses in which the person still has a claim on the session.
ACTIVE_STATUSES = frozenset({BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.OFFERED,
                             BookingStatus.AWAITING_APPROVAL})
#: Statuses that take one of the session's places (awaiting approval does while `approval_holds_place`).
PLACE_HOLDING_STATUSES = frozenset({BookingStatus.CONFIRMED, BookingStatus.OFFERED})

_S = BookingStatus
#: The only transitions a booking may make. Everything else is refused.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    _S.AWAITING_APPROVAL: frozenset({_S.CONFIRMED, _S.WAITLISTED, _S.NOT_APPROVED, _S.APPROVAL_EXPIRED,
                                     _S.CANCELLED, _S.MOVED, _S.SESSION_CANCELLED}),
    _S.WAITLISTED: frozenset({_S.OFFERED, _S.CONFIRMED, _S.WITHDRAWN, _S.MOVED, _S.SESSION_CANCELLED}),
    _S.OFFERED: frozenset({_S.CONFIRMED, _S.DECLINED, _S.EXPIRED, _S.MOVED, _S.SESSION_CANCELLED}),
    _S.CONFIRMED: frozenset({_S.CANCELLED, _S.LATE_CANCELLED, _S.TRANSFERRED, _S.MOVED, _S.SESSION_CANCELLED}),
}


def _active_values() -> list[str]:
    return sorted(s.value for s in ACTIVE_STATUSES)


class Booking(db.Model):
    """A person's claim on a session: a confirmed place, a waiting-list place or an offer."""

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[BookingStatus] = mapped_column(enum_type(BookingStatus, 20))
    # When the person joined the queue. Waiting-list order is by id: rows are inserted under
    # the session lock, so ids follow arrival order on both databases.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overbooked: Mapped[bool] = mapped_column(default=False)
    # The booking this one replaced, for transfers and moves.
    previous_booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))
    # Manager approval: while awaiting it, the booking holds a place if one was free when it
    # was made, until the hold lapses; the manager's link works until approval_expires_at.
    approval_holds_place: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    approval_hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The iCalendar SEQUENCE of this booking's invitation: raised each time a changed or
    # cancelled invitation is sent, so calendars replace the older one.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # The invitation's UID when it is not this booking's own: a moved booking keeps the UID of
    # the one it replaced, so the calendar entry moves rather than a second one appearing.
    calendar_uid: Mapped[str | None] = mapped_column(String(120))

    session: Mapped[CourseSession] = relationship(lazy="joined", innerjoin=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)

    __table_args__ = (
        # One live booking per person per session; cancelled ones stay as history.
        Index(
            "uq_bookings_one_active_per_person",
            "session_id",
            "user_id",
            unique=True,
            sqlite_where=db.text("status IN ('awaiting-approval', 'confirmed', 'offered', 'waitlisted')"),
            postgresql_where=db.text("status IN ('awaiting-approval', 'confirmed', 'offered', 'waitlisted')"),
        ),
        Index("ix_bookings_session_id_status_user_id", "session_id", "status", "user_id"),
    )

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.status}>"

    @hybrid_property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @is_active.inplace.expression
    @classmethod
    def _is_active(cls):
        return cls.status.in_(_active_values())

    @hybrid_property
    def holds_place(self) -> bool:
        return self.status in PLACE_HOLDING_STATUSES or (
            self.status == BookingStatus.AWAITING_APPROVAL and bool(self.approval_holds_place)
        )

    @holds_place.inplace.expression
    @classmethod
    def _holds_place(cls):
        return db.or_(
            cls.status.in_(sorted(s.value for s in PLACE_HOLDING_STATUSES)),
            db.and_(cls.status == BookingStatus.AWAITING_APPROVAL, cls.approval_holds_place.is_(True)),
        )

    def can_become(self, new_status: BookingStatus) -> bool:
        return new_status in TRANSITIONS.get(self.status, frozenset())

    def _move_to(self, new_status: BookingStatus, now: datetime) -> None:
        if not self.can_become(new_status):
            raise InvalidTransition()
        self.status = new_status
        self.status_changed_at = now
        # No transition leads into awaiting approval, so any move ends a hold on a place.
        self.approval_holds_place = False

    # Transitions: each names the event, so no caller sets `status` directly.
    def confirm(self, now: datetime, overbooked: bool = False) -> None:
        self._move_to(BookingStatus.CONFIRMED, now)
        self.confirmed_at = now
        self.overbooked = overbooked
        self.offer_expires_at = None

    def queue(self, now: datetime) -> None:
        """An approved booking with no place left joins the waiting list (in booking order)."""
        self._move_to(BookingStatus.WAITLISTED, now)

    def refuse_approval(self, now: datetime) -> None:
        self._move_to(BookingStatus.NOT_APPROVED, now)
        self.approval_decided_at = now

    def expire_approval(self, now: datetime) -> None:
        self._move_to(BookingStatus.APPROVAL_EXPIRED, now)

    def release_approval_hold(self) -> None:
        """The hold on a place lapsed: the request stays open but the place goes to others."""
        self.approval_holds_place = False

    def offer(self, now: datetime, expires_at: datetime) -> None:
        self._move_to(BookingStatus.OFFERED, now)
        self.offered_at = now
        self.offer_expires_at = expires_at

    def cancel(self, now: datetime, late: bool) -> None:
        self._move_to(BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED, now)

    def withdraw(self, now: datetime) -> None:
        self._move_to(BookingStatus.WITHDRAWN, now)

    def decline(self, now: datetime) -> None:
        self._move_to(BookingStatus.DECLINED, now)

    def expire(self, now: datetime) -> None:
        self._move_to(BookingStatus.EXPIRED, now)

    def mark_transferred(self, now: datetime) -> None:
        self._move_to(BookingStatus.TRANSFERRED, now)

    def mark_moved(self, now: datetime) -> None:
        self._move_to(BookingStatus.MOVED, now)

    def mark_session_cancelled(self, now: datetime) -> None:
        self._move_to(BookingStatus.SESSION_CANCELLED, now)

    def offer_has_expired(self, now: datetime) -> bool:
        return self.status == BookingStatus.OFFERED and self.offer_expires_at is not None and now >= self.offer_expires_at

    # A new waiting-list place learns its position from the count its booking read under the
    # session lock, so the email and the flash message need not each count again. It is
    # forgotten when the status changes or the booking is expired or refreshed (every commit
    # outside `kept_after_commit`), since others' changes can move it after that.
    def remember_position(self, position: int) -> None:
        self.__dict__[_POSITION] = (self.status, position)

    def remembered_position(self) -> int | None:
        status, position = self.__dict__.get(_POSITION, (None, None))
        return position if status == self.status else None


_POSITION = "_remembered_waiting_list_position"


# Raw: given the state, not the booking, since a commit expires every state in the session
# and a state's booking may already have been collected (its dict is then empty).
@event.listens_for(Booking, "expire", raw=True)
@event.listens_for(Booking, "refresh", raw=True)
def _forget_position(state: InstanceState, *_args) -> None:
    state.dict.pop(_POSITION, None)
