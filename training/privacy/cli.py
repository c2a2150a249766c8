"""Retention (placeholder)."""
import click


@click.command("anonymise-inactive")
def anonymise_command() -> None:
    """Anonymise people inactive for longer than the retention period."""
    click.echo("Not written yet")
