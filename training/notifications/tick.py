"""The scheduled notifications, raised by one idempotent command that cron runs every few minutes."""
from __future__ import annotations

import click

from ..db import utcnow
from . import scheduled


@click.command("tick")
def tick_command() -> None:
    """Raise reminders, expire offers and approvals, and request evaluations. Safe to repeat."""
    results = scheduled.run(utcnow())
    for result in results:
        click.echo(result.line)
    failed = [r.label for r in results if r.count is None]
    if failed:
        # A non-zero exit makes cron (or the systemd timer) report it; the other rules still ran.
        raise click.ClickException(f"{len(failed)} rule(s) failed: {', '.join(failed)}. See the log")
