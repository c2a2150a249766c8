"""The scheduled notifications, raised by one idempotent command that cron runs every few minutes."""
from __future__ import annotations

import click


@click.command("tick")
def tick_command() -> None:
    """Raise reminders, expire offers and approvals, and request evaluations. Safe to repeat."""
    raise click.ClickException("Not built yet")
