"""Command-line tasks: flask --app wsgi <command>."""
from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from .accounts.models import Agency, Role, Sector, User
from .db import write_transaction
from .extensions import db


@click.command("create-coordinator")
@click.option("--email", required=True, help="Work email address")
@click.option("--name", required=True, help="Full name")
@click.option("--agency", "agency_name", required=True, help="Agency name (created if new)")
@click.option("--job-title", default="Training coordinator", show_default=True)
@click.password_option(help="At least the minimum password length")
def create_coordinator(email: str, name: str, agency_name: str, job_title: str, password: str) -> None:
    """Create a coordinator account, or grant the role to an existing account."""
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    email = email.strip().lower()
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is None and len(password) < minimum:
        raise click.ClickException(f"Password must be {minimum} characters or more")
    with write_transaction():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            agency = db.session.scalar(select(Agency).where(Agency.name == agency_name))
            if agency is None:
                agency = Agency(name=agency_name, sector=Sector.CHILDRENS_SOCIAL_CARE)
                db.session.add(agency)
            user = User(email=email, name=name, agency=agency, job_title=job_title,
                        manager_name="Not recorded", manager_email=email)
            user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
            user.grant(Role.PROFESSIONAL)
            db.session.add(user)
        created = user.grant(Role.COORDINATOR)
    click.echo(f"Coordinator {'created' if created else 'already exists'}: {email}")


@click.command("expire-offers")
def expire_offers_command() -> None:
    """Expire lapsed waiting-list offers and pass the places on (run from cron)."""
    from .booking.services import expire_offers

    click.echo(f"Expired {expire_offers()} offer(s)")


def register_cli(app: Flask) -> None:
    """Register the project's commands on the app."""
    from .demo import demo_data_command

    for command in (create_coordinator, expire_offers_command, demo_data_command):
        app.cli.add_command(command)
