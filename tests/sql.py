"""Recording the SQL statements a block of test code sends."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from training.extensions import db


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs, transaction control included."""
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
