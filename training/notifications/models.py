"""The email outbox and safeguarding-updates bulletins.

Every email is a row in `outbox_messages`, written in the same transaction as the change that
caused it: if that transaction rolls back, the email never existed. A separate sender
(`flask send-mail`) claims queued rows and delivers them.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, Sector, User
from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a sender
    SENT = "sent"
    FAILED = "failed"  # gave up (or a sender stopped mid-delivery): a coordinator may retry it

    @property
    def label(self) -> str:
        return {"queued": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed"}[self.value]


class MessageKind(enum.StrEnum):
    BOOKING_CONFIRMED = "booking-confirmed"
    MANAGER_COPY = "manager-copy"  # the line manager's copy of a confirmation
    WAITLISTED = "waitlisted"
    PLACE_OFFERED = "place-offered"
    OFFER_EXPIRED = "offer-expired"
    BOOKING_CANCELLED = "booking-cancelled"
    SESSION_CANCELLED = "session-cancelled"
    SESSION_CHANGED = "session-changed"
    BOOKING_MOVED = "booking-moved"
    BOOKING_TRANSFERRED = "booking-transferred"
    REMINDER = "reminder"
    EVALUATION_REQUEST = "evaluation-request"
    EVALUATION_REMINDER = "evaluation-reminder"
    FOLLOW_UP_DUE = "follow-up-due"
    FOLLOW_UP_MANAGER = "follow-up-manager"
    CERTIFICATE_AVAILABLE = "certificate-available"
    REFRESHER_DUE = "refresher-due"
    PASSWORD_RESET = "password-reset"  # noqa: S105  (a message kind, not a password)
    EMAIL_CHANGE = "email-change"  # the confirmation link, to the new address
    EMAIL_CHANGED = "email-changed"  # the notice, to the old address
    NO_SHOW = "no-show"  # to the manager
    APPROVAL_REQUEST = "approval-request"  # to the manager
    APPROVAL_PENDING = "approval-pending"  # to the delegate: we have asked your manager
    APPROVAL_DECLINED = "approval-declined"  # to the delegate
    APPROVAL_EXPIRED = "approval-expired"  # to the delegate
    BULLETIN = "bulletin"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


class Outbox(db.Model):
    """One email to one recipient, from the moment it is decided until it is delivered."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = mapped_column(enum_type(MessageKind, 30))
    recipient: Mapped[str] = mapped_column(String(254))
    # The person it is for, when they have an account; kept so subject access and anonymisation
    # can find their messages. The manager's copy has the delegate here.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # Extra headers as JSON, e.g. List-Unsubscribe for bulletins.
    headers_json: Mapped[str | None] = mapped_column(Text)
    # An iCalendar attachment and its METHOD (REQUEST or CANCEL), when there is one.
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(10))
    # Set for messages raised by a rule (reminders, evaluation requests...), so raising the
    # same one twice is refused by the database: that is what makes `tick` idempotent.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus, 10), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<Outbox {self.id} {self.kind} {self.status}>"


class Bulletin(db.Model):
    """A safeguarding-updates e-bulletin, sent to consenting professionals, optionally filtered."""

    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sector: Mapped[Sector | None] = mapped_column(enum_type(Sector, 30))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient_count: Mapped[int] = mapped_column(default=0)

    agency: Mapped[Agency | None] = relationship()
    created_by: Mapped[User | None] = relationship()
