"""Backups: the SQLite `backup` command and its restore, and pg_dump/pg_restore on PostgreSQL.

Each test runs on one engine only; its sibling covers the other, so every database has a tested
way to back up and restore.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.resilience.helpers import only_on, populate
from training import create_app
from training.accounts.models import Agency, Sector, User
from training.backup import table_row_counts
from training.db import write_transaction
from training.extensions import db


def _live_counts() -> dict[str, int]:
    db.session.commit()
    return table_row_counts(db.session.connection())


def _restored_counts_and_emails(path: Path) -> tuple[dict[str, int], set[str]]:
    """Open the backup as the app would after a restore, and count what it holds."""
    restored = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True})
    with restored.app_context():
        try:
            counts = table_row_counts(db.session.connection())
            emails = set(db.session.scalars(select(User.email)))
        finally:
            db.session.remove()
            db.engine.dispose()
    return counts, emails


def test_sqlite_backup_restores_every_row(runner, tmp_path):
    only_on("sqlite", "test_pg_dump_and_pg_restore_round_trip")
    populate()
    before = _live_counts()
    emails = set(db.session.scalars(select(User.email)))
    target = tmp_path / "copies" / "nightly.sqlite"

    result = runner.invoke(args=["backup", "--output", str(target)])

    assert result.exit_code == 0, result.output
    assert f"Backed up the database to {target}" in result.output
    assert target.stat().st_mode & 0o077 == 0  # personal data: owner only
    counts, restored_emails = _restored_counts_and_emails(target)
    assert counts == before
    assert restored_emails == emails
    assert counts["users"] > 0 and counts["bookings"] > 0 and counts["attendances"] > 0


def test_sqlite_backup_defaults_to_a_timestamped_file_in_instance_backups(app, runner, tmp_path, monkeypatch):
    only_on("sqlite", "test_backup_on_postgresql_points_to_pg_dump")
    populate()
    monkeypatch.setattr(app, "instance_path", str(tmp_path))

    result = runner.invoke(args=["backup"])

    assert result.exit_code == 0, result.output
    [made] = (tmp_path / "backups").iterdir()
    assert made.name.startswith("training-") and made.suffix == ".sqlite"
    stamp = made.stem.removeprefix("training-")
    assert len(stamp) == 16 and stamp[8] == "T" and stamp.endswith("Z")
    assert _restored_counts_and_emails(made)[0] == _live_counts()


def test_sqlite_backup_never_overwrites_an_existing_file(runner, tmp_path):
    only_on("sqlite", "test_backup_on_postgresql_points_to_pg_dump")
    target = tmp_path / "keep.sqlite"
    target.write_bytes(b"an older backup")

    result = runner.invoke(args=["backup", "--output", str(target)])

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert target.read_bytes() == b"an older backup"
    assert list(tmp_path.iterdir()) == [target]


def test_sqlite_backup_is_consistent_while_the_app_is_writing(app, tmp_path):
    """Each write adds two agencies in one transaction, so a consistent copy holds an even number."""
    only_on("sqlite", "test_pg_dump_and_pg_restore_round_trip")
    from training.backup import backup_sqlite

    stop, written = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with app.app_context():
            try:
                while not stop.is_set():
                    with write_transaction():
                        for _ in range(2):
                            db.session.add(Agency(name=f"Agency {uuid.uuid4()}", sector=Sector.HEALTH))
                    written.set()
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(timeout=30)
        copies = [backup_sqlite(db.engine.url.database, tmp_path / f"copy{i}.sqlite") for i in range(5)]
    finally:
        stop.set()
        thread.join(timeout=30)

    assert errors == []
    for copy in copies:
        with sqlite3.connect(copy) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            agencies = conn.execute("SELECT count(*) FROM agencies").fetchone()[0]
        assert agencies >= 2 and agencies % 2 == 0
        assert not Path(f"{copy}-wal").exists()  # one self-contained file


def test_backup_on_postgresql_points_to_pg_dump(app, runner, tmp_path, monkeypatch):
    only_on("postgresql", "test_sqlite_backup_restores_every_row")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))

    result = runner.invoke(args=["backup", "--output", str(tmp_path / "copy.sqlite")])

    assert result.exit_code == 1
    assert "pg_dump" in result.output and "README" in result.output
    assert "postgres@" not in result.output  # never echo the database address
    assert list(tmp_path.iterdir()) == []


def _libpq_url(url, database: str | None = None) -> str:
    url = make_url(url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def test_pg_dump_and_pg_restore_round_trip(app, tmp_path):
    only_on("postgresql", "test_sqlite_backup_restores_every_row")
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: install the PostgreSQL client tools")
    populate()
    before = _live_counts()
    source = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    restore_name = f"{source.database}_restore"
    dump = tmp_path / "training.dump"

    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", _libpq_url(source)],
                   check=True, capture_output=True, timeout=120)

    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{restore_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{restore_name}"'))
    restored = create_engine(source.set(database=restore_name), poolclass=NullPool)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                        f"--dbname={_libpq_url(source, restore_name)}", str(dump)],
                       check=True, capture_output=True, timeout=120)
        with restored.connect() as conn:
            counts = table_row_counts(conn)
            emails = set(conn.scalars(select(User.email)))
    finally:
        restored.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{restore_name}" WITH (FORCE)'))
        admin.dispose()

    assert counts == before
    assert emails == set(db.session.scalars(select(User.email)))
    assert counts["users"] > 0 and counts["bookings"] > 0 and counts["attendances"] > 0
