"""Helpers for the attendance tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from training.extensions import db


class Statements(list):
    """SQL statements sent while recording, without SQLite's explicit BEGINs."""

    @property
    def queries(self) -> list[str]:
        return [s for s in self if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


@contextmanager
def recording_sql() -> Iterator[Statements]:
    statements = Statements()

    def _capture(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _capture)


@pytest.fixture
def sql():
    """`with sql() as statements:` records the statements sent to the database."""
    return recording_sql
