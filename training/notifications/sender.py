"""Delivering the outbox over SMTP (or to the log in development)."""
from __future__ import annotations

import click


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, delivering as messages become due")
def send_mail_command(loop: bool) -> None:
    """Deliver queued emails: one pass, or --loop."""
    raise click.ClickException("Not built yet")
