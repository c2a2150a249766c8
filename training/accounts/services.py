"""Account operations: registration, signing in, profile changes, roles and agencies.

Callers pass the acting person and `now`; nothing here reads the request or the session.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import services as audit
from ..db import utcnow, write_transaction
from ..extensions import db
from .errors import (
    AgencyNameTaken,
    AgencyUnavailable,
    EmailTaken,
    OwnAccountStatus,
    OwnCoordinatorRole,
    RolesChangedMeanwhile,
    WrongPassword,
)
from .models import Agency, Role, RoleGrant, Sector, User
from .passwords import check_password_strength

log = logging.getLogger(__name__)

# Long enough for any passphrase; the cap stops a huge "password" costing a long hash.
MAX_PASSWORD_LENGTH = 128


def normalise_email(email: str) -> str:
    """Email addresses are stored and compared trimmed and lower-case."""
    return email.strip().lower()


def _hash_method() -> str:
    return current_app.config["PASSWORD_HASH_METHOD"]


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not anyone's password", method=method)


# ---------------------------------------------------------------------------
# Look-ups
# ---------------------------------------------------------------------------

def user_by_email(email: str) -> User | None:
    """The account with this email address, whatever its case, or None."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def active_agencies() -> list[Agency]:
    """Agencies people can choose when registering, by name."""
    return list(
        db.session.scalars(
            select(Agency).where(Agency.active.is_(True)).order_by(func.lower(Agency.name), Agency.id)
        )
    )


def all_agencies() -> list[Agency]:
    """Every agency, active or not, by name."""
    return list(db.session.scalars(select(Agency).order_by(func.lower(Agency.name), Agency.id)))


def agencies_for(user: User) -> list[Agency]:
    """Agencies a person may choose on their profile: the active ones and their current one."""
    agencies = active_agencies()
    if user.agency is not None and not user.agency.active:
        agencies.append(user.agency)
    return agencies


@dataclass(frozen=True)
class AgencySummary:
    agency: Agency
    people: int


def agency_summaries() -> list[AgencySummary]:
    """Every agency with the number of people in it, in one query."""
    rows = db.session.execute(
        select(Agency, func.count(User.id))
        .outerjoin(User, User.agency_id == Agency.id)
        .group_by(Agency.id)
        .order_by(func.lower(Agency.name), Agency.id)
    )
    return [AgencySummary(agency, count) for agency, count in rows]


def people_query(search: str | None = None, agency_id: int | None = None,
                 role: Role | None = None) -> Select:
    """People matching a name or email search, an agency and a role, by name."""
    query = select(User)
    if search:
        query = query.where(
            User.name.icontains(search, autoescape=True) | User.email.icontains(search, autoescape=True)
        )
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    if role is not None:
        query = query.where(User.grants.any(RoleGrant.role == role))
    return query.order_by(func.lower(User.name), User.id)


# ---------------------------------------------------------------------------
# Signing in and registering
# ---------------------------------------------------------------------------

def authenticate(email: str, password: str) -> User | None:
    """The active account with these credentials, or None (never saying which part was wrong)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # no account can have such a password; refuse at the usual cost below
    user = user_by_email(email)
    if user is None or not password:
        # Hash anyway, so a wrong email address takes as long to refuse as a wrong password.
        check_password_hash(_dummy_hash(_hash_method()), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def _usable_agency(agency_id: int, keep: Agency | None = None) -> Agency:
    """The active agency with this id (or the one the person already has)."""
    agency = db.session.get(Agency, agency_id)
    if agency is None or not (agency.active or agency is keep):
        raise AgencyUnavailable()
    return agency


def register(*, name: str, email: str, agency_id: int, job_title: str, manager_name: str,
             manager_email: str, consent_updates: bool, password: str,
             now: datetime | None = None) -> User:
    """Create a professional's account."""
    now = now or utcnow()
    email = normalise_email(email)
    check_password_strength(password, email=email)
    try:
        with write_transaction():
            if user_by_email(email) is not None:
                raise EmailTaken()
            user = User(
                email=email,
                name=name.strip(),
                agency=_usable_agency(agency_id),
                job_title=job_title.strip(),
                manager_name=manager_name.strip(),
                manager_email=normalise_email(manager_email),
                consent_updates=consent_updates,
                consent_updated_at=now if consent_updates else None,
                created_at=now,
            )
            user.set_password(password, _hash_method())
            user.grant(Role.PROFESSIONAL)
            db.session.add(user)
    except IntegrityError as exc:
        # Someone registered the same address between our check and our insert.
        raise EmailTaken() from exc
    return user


# ---------------------------------------------------------------------------
# Your account
# ---------------------------------------------------------------------------

def update_profile(user: User, *, name: str, agency_id: int, job_title: str, manager_name: str,
                   manager_email: str, consent_updates: bool, now: datetime | None = None) -> None:
    """Change a person's own details; a change of consent is timestamped."""
    now = now or utcnow()
    with write_transaction():
        user.agency = _usable_agency(agency_id, keep=user.agency)
        user.name = name.strip()
        user.job_title = job_title.strip()
        user.manager_name = manager_name.strip()
        user.manager_email = normalise_email(manager_email)
        if consent_updates != user.consent_updates:
            user.consent_updates = consent_updates
            user.consent_updated_at = now


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """Set a new password once the current one is confirmed."""
    if not user.check_password(current_password):
        raise WrongPassword()
    check_password_strength(new_password, email=user.email)
    with write_transaction():
        user.set_password(new_password, _hash_method())


# ---------------------------------------------------------------------------
# Coordinators: people
# ---------------------------------------------------------------------------

def set_roles(person: User, roles: Iterable[Role], *, actor: User) -> None:
    """Give a person exactly these roles. Nobody can remove their own coordinator role, so
    the service always keeps at least one coordinator able to manage it."""
    wanted = set(roles)
    if person.id == actor.id and Role.COORDINATOR in person.roles and Role.COORDINATOR not in wanted:
        raise OwnCoordinatorRole()
    try:
        with write_transaction():
            for role in Role:
                if role in wanted:
                    person.grant(role, by=actor)
                else:
                    person.revoke(role)
            audit.roles_changed(actor, person)
    except IntegrityError as exc:
        # Another coordinator granted the same role at the same moment.
        raise RolesChangedMeanwhile() from exc
    log.info("Roles of user %s set to %s by user %s", person.id,
             ",".join(sorted(r.value for r in wanted)) or "none", actor.id)


def set_active(person: User, active: bool, *, actor: User) -> None:
    """Deactivate (no more signing in) or reactivate an account."""
    if person.id == actor.id and not active:
        raise OwnAccountStatus()
    with write_transaction():
        person.active = active
        audit.account_status_changed(actor, person)
    log.info("User %s %s by user %s", person.id, "reactivated" if active else "deactivated", actor.id)


# ---------------------------------------------------------------------------
# Coordinators: agencies
# ---------------------------------------------------------------------------

def _check_agency_name(name: str, agency: Agency | None = None) -> None:
    """Names are unique ignoring case, so "NHS Trust" and "nhs trust" cannot both exist."""
    query = select(Agency.id).where(func.lower(Agency.name) == name.lower())
    if agency is not None:
        query = query.where(Agency.id != agency.id)
    if db.session.scalar(query) is not None:
        raise AgencyNameTaken()


def create_agency(*, name: str, sector: Sector) -> Agency:
    """Add an agency people can choose when they register."""
    name = name.strip()
    try:
        with write_transaction():
            _check_agency_name(name)
            agency = Agency(name=name, sector=sector)
            db.session.add(agency)
    except IntegrityError as exc:
        raise AgencyNameTaken() from exc
    return agency


def update_agency(agency: Agency, *, name: str, sector: Sector) -> None:
    """Rename an agency or change its sector."""
    name = name.strip()
    try:
        with write_transaction():
            _check_agency_name(name, agency)
            agency.name = name
            agency.sector = sector
    except IntegrityError as exc:
        raise AgencyNameTaken() from exc


def set_agency_active(agency: Agency, active: bool) -> None:
    """A deactivated agency leaves the registration list; its people keep it."""
    with write_transaction():
        agency.active = active
