"""Helpers for the audit tests."""
from __future__ import annotations

from sqlalchemy import select

from training.audit.models import AuditEvent
from training.extensions import db


def events(action_prefix: str = "") -> list[AuditEvent]:
    """Committed audit events (ending any read transaction first), oldest first."""
    db.session.commit()
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
    ))
