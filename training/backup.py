"""Backups (placeholder)."""
import click


@click.command("backup")
def backup_command() -> None:
    """Back up the database."""
    click.echo("Not written yet")
