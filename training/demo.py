"""Demo data: a realistic partnership for trying the service."""
from __future__ import annotations

import click


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has agencies")
def demo_data_command(if_empty: bool) -> None:
    """Load demo agencies, courses, sessions, bookings and accounts."""
    click.echo("Demo data is not written yet")
