"""Building history files and snapshotting the database for the history import tests."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from training.extensions import db
from training.history.parser import COLUMNS

#: Tables an import records itself in, even when it adds no records.
IMPORT_LOG_TABLES = frozenset({"history_imports", "audit_events"})

DEFAULTS = {
    "session_start": "2024-03-12T09:30",
    "session_end": "2024-03-12T12:30",
    "course_title": "Recognising neglect",
    "session_type": "training",
    "format": "face-to-face",
    "attendee_name": "Ann Archer",
    "attendee_email": "ann.archer@health.example",
    "agency": "Riverside Health",
    "sector": "health",
    "status": "attended",
    "rating": "good",
    "comment": "",
}


def record(**values) -> dict[str, str]:
    """One row: the defaults with `values` replacing them."""
    unknown = set(values) - set(DEFAULTS)
    assert not unknown, unknown
    return {**DEFAULTS, **values}


def history_csv(*rows: dict[str, str], columns=COLUMNS) -> str:
    """A CSV file with a header row of `columns` and the given rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def history_bytes(*rows: dict[str, str], columns=COLUMNS) -> bytes:
    return history_csv(*rows, columns=columns).encode("utf-8")


def people_file(count: int, prefix: str = "p", course: str = "Bulk course", agency: str = "Bulk agency") -> bytes:
    """`count` rows over sessions of 10 people, every status, ratings and comments among them."""
    rows = []
    for n in range(count):
        session = n // 10
        status = ("attended", "attended", "attended", "did-not-attend", "late-cancellation")[n % 5]
        rows.append(record(
            session_start=f"2023-{1 + session % 12:02d}-{1 + session // 12:02d}T10:00",
            session_end="", course_title=f"{course} {session % 3}", session_type="training" if session % 4 else "workshop",
            attendee_name=f"Person {prefix}{n}", attendee_email=f"{prefix}{n}@bulk.example",
            agency=f"{agency} {n % 4}", sector="education",
            status=status, rating="excellent" if status == "attended" and n % 2 else "",
            comment="Useful day" if status == "attended" and n % 3 == 0 else "",
        ))
    return history_bytes(*rows)


def table_counts() -> dict[str, int]:
    """Rows in every table, read in a fresh transaction."""
    db.session.commit()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}
