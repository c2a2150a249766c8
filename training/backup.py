"""Backups: `flask --app wsgi backup [--output PATH]`.

On SQLite it copies the live database with SQLite's online backup API, which gives a consistent
snapshot even while the app is writing. On PostgreSQL it refuses: use `pg_dump`, which does the
same job properly for a server database (see "Backups and restore" in README.md).
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import click
from flask import current_app

from .db import utcnow
from .extensions import db

PG_DUMP_ADVICE = (
    "The backup command only backs up SQLite databases. This service uses PostgreSQL: back it "
    "up with pg_dump instead, for example\n"
    "  pg_dump --format=custom --file=training-$(date -u +%Y%m%dT%H%M%SZ).dump postgresql://USER@HOST/DATABASE\n"
    "(that is DATABASE_URL without \"+psycopg\"), and restore it with pg_restore. "
    "See \"Backups and restore\" in README.md."
)


class BackupError(click.ClickException):
    """The backup could not be made; the message says why."""


def default_backup_path(instance_path: str) -> Path:
    """`instance/backups/training-YYYYmmddTHHMMSSZ.sqlite`, timestamped in UTC."""
    return Path(instance_path) / "backups" / f"training-{utcnow():%Y%m%dT%H%M%SZ}.sqlite"


def backup_sqlite(source: str, target: Path, busy_timeout_ms: int = 30000) -> Path:
    """Copy the SQLite database at `source` to `target`, consistently, while others write.

    The copy is written under a temporary name and renamed into place only once it is complete
    and passes an integrity check, so a half-written file never looks like a backup.
    """
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists: choose another --output path")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Backups hold personal data: readable by the service's own user only.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        # Read-only URI so a mistyped path never creates an empty database to back up.
        src = sqlite3.connect(Path(source).resolve().as_uri() + "?mode=ro", uri=True,
                              timeout=busy_timeout_ms / 1000)
        try:
            dst = sqlite3.connect(partial)
            try:
                # pages=-1 copies everything in one step under one read snapshot. In WAL mode
                # that does not block the app's writers, and unlike a stepwise copy it never
                # has to restart because a writer changed the source part-way through.
                src.backup(dst, pages=-1)
                # One self-contained file: no -wal or -shm companion to forget when restoring.
                dst.execute("PRAGMA journal_mode = DELETE")
                result = dst.execute("PRAGMA integrity_check").fetchone()[0]
                if result != "ok":
                    raise BackupError(f"The copy failed its integrity check: {result}")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"The backup failed: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def table_row_counts(connection) -> dict[str, int]:
    """Rows in every table the app defines, from a SQLAlchemy connection (used to check restores)."""
    from sqlalchemy import func, select

    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in db.metadata.sorted_tables
    }


@click.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the copy (default: instance/backups/training-YYYYmmddTHHMMSSZ.sqlite)")
def backup_command(output: Path | None) -> None:
    """Back up the SQLite database to a file, safely while the app is running."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError(PG_DUMP_ADVICE)
    source = engine.url.database
    if not source or source == ":memory:" or source.startswith("file:"):
        raise BackupError("Only a SQLite database stored in a file can be backed up")
    if not Path(source).exists():
        raise BackupError(f"There is no database at {source}: run `flask --app wsgi db upgrade` first")
    target = output or default_backup_path(current_app.instance_path)
    backup_sqlite(source, target, current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
    click.echo(f"Backed up the database to {target}")
