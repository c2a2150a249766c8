"""The retention command: flask --app wsgi anonymise-inactive."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app

from ..db import utcnow


@click.command("anonymise-inactive")
@click.option("--dry-run", is_flag=True, help="Count who would be anonymised, and change nothing")
@click.option("--now", "today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Run as if today were this date (YYYY-MM-DD), for tests")
def anonymise_command(dry_run: bool, today: datetime | None) -> None:
    """Anonymise people inactive for longer than the retention period (run daily from cron)."""
    from .services import anonymise_inactive

    now = today.replace(tzinfo=UTC) if today is not None else utcnow()
    result = anonymise_inactive(now, dry_run=dry_run)
    years = current_app.config["RETENTION_YEARS"]
    verb = "Would anonymise" if result.dry_run else "Anonymised"
    click.echo(f"{verb} {result.people} person(s) and {result.walk_ins} walk-in(s) "
               f"with no activity for {years} year(s)")
