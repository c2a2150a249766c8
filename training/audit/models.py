"""The audit log: an append-only record of who changed what, and when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts import models as _accounts  # noqa: F401  (the users table the FK names)
from ..db import UTCDateTime, utcnow
from ..extensions import db

ACTION_MAX = 64
OBJECT_TYPE_MAX = 32
SUMMARY_MAX = 300


class AuditLogIsAppendOnly(RuntimeError):
    """An audit event was about to be changed or deleted."""


class AuditEvent(db.Model):
    """One audited action: who (None for the system), what, on which object, and when.

    The summary holds ids and role names only, never names, emails or comments, so the log
    does not become another copy of people's personal data.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SET NULL: erasing an account must not erase the record of what was done by it.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    object_type: Mapped[str] = mapped_column(String(OBJECT_TYPE_MAX))
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be deleted")
