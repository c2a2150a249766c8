"""`flask import-history FILE.csv`: past attendance records from a spreadsheet."""
from __future__ import annotations

from pathlib import Path

import click

from .errors import HistoryImportError, InvalidHistoryFile
from .services import Counts, import_file, preview_file

_LINES = (("courses", "Courses"), ("sessions", "Sessions"), ("agencies", "Agencies"), ("people", "People"),
          ("bookings", "Bookings"), ("attendances", "Attendances"), ("evaluations", "Evaluations"))


def _echo_counts(counts: Counts, verb: str) -> None:
    click.echo(f"Rows: {counts.rows:,} ({counts.new_rows:,} new, {counts.already_recorded:,} already recorded)")
    for key, label in _LINES:
        click.echo(f"{label} {verb}: {getattr(counts, key):,}")


@click.command("import-history")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what it would add, writing nothing.")
def import_history_command(path: str, dry_run: bool) -> None:
    """Import past attendance records from a CSV file (all or nothing).

    Rows already recorded are skipped, so running it twice adds nothing the second time.
    """
    data = Path(path).read_bytes()
    try:
        if dry_run:
            plan = preview_file(data)
            _echo_counts(plan.counts, "to create")
            for warning in plan.warnings:
                click.echo(f"Warning: {warning}")
            click.echo("Dry run: nothing was imported")
            return
        counts = import_file(data, Path(path).name)
    except InvalidHistoryFile as exc:
        click.echo(exc.message, err=True)
        for problem in exc.problems:
            if problem.as_text() != exc.message:
                click.echo(problem.as_text(), err=True)
        click.echo("Nothing was imported", err=True)
        raise SystemExit(1) from None
    except HistoryImportError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from None
    _echo_counts(counts, "created")
    click.echo("Imported")
