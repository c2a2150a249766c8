"""`flask import-history FILE.csv`: past attendance records from a spreadsheet."""
from __future__ import annotations

import click


@click.command("import-history")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_history_command(path: str) -> None:
    """Import past attendance records from a CSV file (all or nothing)."""
    raise click.ClickException("Not built yet")
