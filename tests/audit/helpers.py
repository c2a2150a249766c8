"""Helpers for the audit tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from training.audit.models import AuditEvent
from training.extensions import db


def events(action_prefix: str = "") -> list[AuditEvent]:
    """Committed audit events (ending any read transaction first), oldest first."""
    db.session.commit()
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id)
    ))


@contextmanager
def counting() -> Iterator[list[str]]:
    """Records the SQL statements sent while active, without transaction control."""
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
