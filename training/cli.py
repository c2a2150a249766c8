"""Command-line tasks: flask --app wsgi <command>."""
from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from .accounts.models import Agency, Role, Sector, User
from .accounts.passwords import HARDER_TO_GUESS, is_easy_to_guess
from .db import write_transaction
from .extensions import db


@click.command("create-coordinator")
@click.option("--email", required=True, help="Work email address")
@click.option("--name", required=True, help="Full name")
@click.option("--agency", "agency_name", required=True, help="Agency name (created if new)")
@click.option("--sector", type=click.Choice([s.value for s in Sector]), default=Sector.OTHER.value,
              show_default=True, help="Sector of the agency, if it is created")
@click.option("--job-title", default="Training coordinator", show_default=True)
@click.option("--password", help="At least the minimum password length; asked for when creating an account")
def create_coordinator(email: str, name: str, agency_name: str, sector: str, job_title: str,
                       password: str | None) -> None:
    """Create a coordinator account, or grant the role to an existing account.

    This is also the way back in if nobody can manage the service: it reactivates the account.
    """
    from email_validator import EmailNotValidError, validate_email
    from sqlalchemy import func

    from .accounts.services import MAX_PASSWORD_LENGTH, normalise_email, user_by_email

    email = normalise_email(email)
    name, agency_name = name.strip(), agency_name.strip()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter("Enter an email address in the correct format, like name@example.com",
                                 param_hint="--email") from exc
    if not name or not agency_name:
        raise click.UsageError("Enter a name and an agency")

    if user_by_email(email) is None:
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        minimum = current_app.config["MIN_PASSWORD_LENGTH"]
        if len(password) < minimum:
            raise click.ClickException(f"Password must be {minimum} characters or more")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise click.ClickException(f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer")
        if is_easy_to_guess(password, email=email):
            raise click.ClickException(HARDER_TO_GUESS)

    notes = []
    with write_transaction():
        user = user_by_email(email)
        if user is None:
            agency = db.session.scalar(select(Agency).where(func.lower(Agency.name) == agency_name.lower()))
            if agency is None:
                agency = Agency(name=agency_name, sector=Sector(sector))
                db.session.add(agency)
            user = User(email=email, name=name, agency=agency, job_title=job_title,
                        manager_name="Not recorded", manager_email=email)
            user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
            user.grant(Role.PROFESSIONAL)
            db.session.add(user)
            notes.append("account created")
        elif password is not None:
            notes.append("existing account: password not changed")
        if not user.active:
            user.active = True
            notes.append("account reactivated")
        created = user.grant(Role.COORDINATOR)
    status = "Coordinator role granted" if created else "Already a coordinator"
    click.echo(f"{status}: {email}" + (f" ({'; '.join(notes)})" if notes else ""))


@click.command("expire-offers")
def expire_offers_command() -> None:
    """Expire lapsed waiting-list offers and pass the places on (run from cron)."""
    from .booking.services import expire_offers

    click.echo(f"Expired {expire_offers()} offer(s)")


def register_cli(app: Flask) -> None:
    """Register the project's commands on the app."""
    from .backup import backup_command
    from .demo import demo_data_command
    from .history.cli import import_history_command
    from .notifications.sender import send_mail_command
    from .notifications.tick import tick_command
    from .privacy.cli import anonymise_command
    from .reports.cli import report_cli

    for command in (create_coordinator, expire_offers_command, demo_data_command, backup_command, anonymise_command,
                    import_history_command, report_cli, send_mail_command, tick_command):
        app.cli.add_command(command)
