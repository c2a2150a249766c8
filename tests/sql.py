"""Recording the SQL statements a block of test code sends: the one recorder for every test
that counts statements or reads them."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from training.extensions import db

#: Statements that only open or close a transaction or a savepoint (SQLite sends its BEGINs
#: as statements, PostgreSQL leaves them to the driver).
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class Statements(list):
    """The statements sent while recording, in order, transaction control included."""

    @property
    def queries(self) -> list[str]:
        """The statements without transaction control: what the code asked of the database,
        the same on both engines."""
        return [s for s in self if not s.lstrip().upper().startswith(TRANSACTION_CONTROL)]


@contextmanager
def recorded_statements() -> Iterator[Statements]:
    """Every statement sent to the database while the block runs, transaction control included."""
    statements = Statements()

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def statements_of(action: Callable[[], object]) -> Statements:
    """The statements `action()` sends."""
    with recorded_statements() as statements:
        action()
    return statements
