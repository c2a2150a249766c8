"""The coordinators' view of the outbox: what is waiting, sent and failed, and retrying one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from ..accounts.models import User
from ..audit.services import record
from ..db import utcnow, write_transaction
from ..errors import DomainError
from ..extensions import db
from .models import MessageKind, MessageStatus, Outbox

#: Messages carrying a link that acts for the recipient (sets a password, confirms an address,
#: approves a booking): a coordinator reading one could use the link, so its text is not shown.
PRIVATE_LINK_KINDS = frozenset({MessageKind.PASSWORD_RESET, MessageKind.EMAIL_CHANGE, MessageKind.APPROVAL_REQUEST})


class OutboxError(DomainError):
    """A refused outbox action."""


class MessageNotFound(OutboxError):
    message = "The message could not be found"


class NotRetryable(OutboxError):
    """Only a failed message can be sent again."""


def status_counts() -> dict[MessageStatus, int]:
    """How many messages are in each status (every status, zeros included)."""
    counts = dict(db.session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    return {status: counts.get(status, 0) for status in MessageStatus}


def messages_query(status: MessageStatus | None = None) -> Select:
    """The outbox, newest first, optionally of one status."""
    query = select(Outbox).order_by(Outbox.created_at.desc(), Outbox.id.desc())
    if status is not None:
        query = query.where(Outbox.status == status)
    return query


def get_message(message_id: int) -> Outbox | None:
    """One message, or None."""
    return db.session.get(Outbox, message_id)


def body_is_private(message: Outbox) -> bool:
    """Whether the message's text must not be shown to coordinators."""
    return message.kind in PRIVATE_LINK_KINDS


def retry(message_id: int, actor: User, now: datetime | None = None) -> Outbox:
    """Queue a failed message again, due now, with a fresh set of attempts."""
    now = now or utcnow()
    with write_transaction():
        message = db.session.scalar(select(Outbox).where(Outbox.id == message_id).with_for_update())
        if message is None:
            raise MessageNotFound()
        if message.status != MessageStatus.FAILED:
            raise NotRetryable(f"Only a failed message can be sent again: this one is {message.status.label.lower()}")
        message.status = MessageStatus.QUEUED
        message.attempts = 0
        message.next_attempt_at = now
        message.claim_token = None
        message.claimed_at = None
        # The recipient is personal data and the audit log is kept for years: the id is enough.
        record(actor, "outbox.retry", "outbox_message", message.id,
               f"Queued failed {message.kind.value} message {message.id} to send again", now)
    return message
