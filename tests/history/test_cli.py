"""`flask import-history FILE.csv` and its --dry-run."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.history.helpers import history_bytes, record, table_counts
from training.booking.models import Booking
from training.extensions import db
from training.history.models import HistoryImport, ImportStatus


def _file(tmp_path, data: bytes, name: str = "history.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


GOOD = history_bytes(record(), record(attendee_email="bob@school.example", agency="Hill School", sector="Education",
                                      status="late-cancellation", rating=""))


def test_imports_and_prints_the_counts(runner, tmp_path):
    result = runner.invoke(args=["import-history", _file(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert "Rows: 2 (2 new, 0 already recorded)" in result.output
    assert "Bookings created: 2" in result.output and "Attendances created: 1" in result.output
    assert "People created: 2" in result.output and "Imported" in result.output
    assert db.session.scalar(select(func.count(Booking.id))) == 2
    [history_import] = db.session.scalars(select(HistoryImport)).all()
    assert history_import.status is ImportStatus.IMPORTED and history_import.uploaded_by_id is None
    assert history_import.filename == "history.csv"

    again = runner.invoke(args=["import-history", _file(tmp_path, GOOD)])
    assert again.exit_code == 0 and "Rows: 2 (0 new, 2 already recorded)" in again.output


def test_a_bad_file_prints_every_problem_exits_1_and_writes_nothing(runner, tmp_path):
    bad = history_bytes(record(session_start="yesterday"), record(attendee_email="b@x.example", status="maybe"))
    before = table_counts()
    result = runner.invoke(args=["import-history", _file(tmp_path, bad)])
    assert result.exit_code == 1
    assert "The selected file has 2 problems" in result.output
    assert "Line 2, session_start: Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30" in result.output
    assert "Line 3, status: Status must be attended, did-not-attend or late-cancellation" in result.output
    assert "Nothing was imported" in result.output
    assert table_counts() == before


def test_a_file_that_is_not_utf8_is_refused(runner, tmp_path):
    result = runner.invoke(args=["import-history", _file(tmp_path, GOOD.replace(b"Riverside", "Rïverside".encode(
        "latin-1")))])
    assert result.exit_code == 1 and "The file must be saved as UTF-8 CSV" in result.output


def test_dry_run_shows_the_preview_and_writes_nothing(runner, tmp_path):
    before = table_counts()
    result = runner.invoke(args=["import-history", "--dry-run", _file(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert "Rows: 2 (2 new, 0 already recorded)" in result.output
    assert "Agencies to create: 2" in result.output
    assert "Warning: 2 new agencies will be created as inactive" in result.output
    assert "Dry run: nothing was imported" in result.output
    assert table_counts() == before
