"""Account operations: registration, signing in, profile changes, roles and agencies.

Callers pass the acting person and `now`; nothing here reads the request or the session.
"""
from __future__ import annotations

import logging
import secrets
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
from ..notifications.models import MessageKind, Outbox
from ..notifications.outbox import enqueue, external_url
from . import tokens
from .errors import (
    AgencyNameTaken,
    AgencyUnavailable,
    EmailTaken,
    InvalidLink,
    OwnAccountStatus,
    OwnCoordinatorRole,
    RolesChangedMeanwhile,
    SameEmail,
    WrongPassword,
)
from .models import Agency, ConsentRecord, ConsentSource, Role, RoleGrant, Sector, User
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
                consent_updates=False,
                created_at=now,
            )
            user.set_password(password, _hash_method())
            user.grant(Role.PROFESSIONAL)
            db.session.add(user)
            if consent_updates:
                db.session.flush()  # the consent record needs the new person's id
                record_consent(user, True, source=ConsentSource.REGISTRATION, now=now)
    except IntegrityError as exc:
        # Someone registered the same address between our check and our insert.
        raise EmailTaken() from exc
    return user


# ---------------------------------------------------------------------------
# Consent to safeguarding updates
# ---------------------------------------------------------------------------

def record_consent(user: User, consented: bool, *, source: ConsentSource, now: datetime) -> bool:
    """Set a person's consent and, when it actually changes, record when and where it changed.

    Run inside the caller's write transaction (it never commits). False when nothing changed.
    `consent_updated_at` is kept equal to the time of the latest record.
    """
    if consented == user.consent_updates:
        return False
    user.consent_updates = consented
    user.consent_updated_at = now
    db.session.add(ConsentRecord(user_id=user.id, consented=consented, source=source, recorded_at=now))
    return True


def consent_history(user: User) -> list[ConsentRecord]:
    """A person's consent changes, newest first."""
    return list(db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user.id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    ))


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
        record_consent(user, consent_updates, source=ConsentSource.ACCOUNT, now=now)


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """Set a new password once the current one is confirmed."""
    if not user.check_password(current_password):
        raise WrongPassword()
    check_password_strength(new_password, email=user.email)
    with write_transaction():
        user.set_password(new_password, _hash_method())


# ---------------------------------------------------------------------------
# Forgotten password
# ---------------------------------------------------------------------------

def _locked_user(user_id: int) -> User | None:
    """The person, re-read and locked for this transaction, so two uses of one link queue up
    and the second sees what the first changed."""
    return db.session.scalar(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    )


def request_password_reset(email: str, *, now: datetime | None = None) -> str | None:
    """Email a reset link to the active account with this address; for any other address do
    nothing. The caller says the same thing either way. Returns the link's token, or None."""
    now = now or utcnow()
    with write_transaction():
        user = user_by_email(email)
        if user is None or not user.active:
            return None
        token = tokens.password_reset_token(user, now)
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        enqueue(
            MessageKind.PASSWORD_RESET, user.email, "Reset your password", "password_reset",
            {"name": user.name, "link": external_url("accounts.reset_password", token=token), "minutes": minutes,
             "expires_at": now + tokens.password_reset_lifetime()},
            user_id=user.id, now=now,
            # At most one reset email a minute to one person, however often the form is sent.
            dedupe_key=f"password-reset:{user.id}:{int(now.timestamp()) // 60}",
        )
    log.info("Password reset link queued for user %s", user.id)
    return token


def _reset_user(token: str, now: datetime, *, lock: bool) -> User:
    claim = tokens.read_password_reset(token, now)
    user = _locked_user(claim.user_id) if lock else db.session.get(User, claim.user_id)
    if user is None or not user.active or not tokens.fingerprint_matches(user, claim.fingerprint):
        raise InvalidLink()
    return user


def password_reset_user(token: str, *, now: datetime | None = None) -> User:
    """The person a reset link is for, while it still works; InvalidLink otherwise."""
    return _reset_user(token, now or utcnow(), lock=False)


def reset_password(token: str, new_password: str, *, now: datetime | None = None) -> User:
    """Set a new password through a reset link, which then stops working."""
    now = now or utcnow()
    user = password_reset_user(token, now=now)
    check_password_strength(new_password, email=user.email)
    with write_transaction():
        user = _reset_user(token, now, lock=True)
        user.set_password(new_password, _hash_method())
    log.info("Password reset through a link for user %s", user.id)
    return user


# ---------------------------------------------------------------------------
# Changing your email address
# ---------------------------------------------------------------------------

def _email_free(email: str, user: User) -> None:
    other = user_by_email(email)
    if other is not None and other.id != user.id:
        raise EmailTaken("An account already exists with that email address")


def request_email_change(user: User, *, new_email: str, password: str, now: datetime | None = None) -> str:
    """Send a confirmation link to the new address once the password is confirmed.

    Nothing changes until the link is used. Returns the link's token.
    """
    now = now or utcnow()
    if not user.check_password(password):
        raise WrongPassword("Your password is incorrect")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise SameEmail()
    with write_transaction():
        _email_free(new_email, user)
        # The address stays in the outbox row, not the link: paths are written to the access log.
        nonce = secrets.token_urlsafe(16)
        token = tokens.email_change_token(user, nonce, now)
        enqueue(
            MessageKind.EMAIL_CHANGE, new_email, "Confirm your new email address", "email_change",
            {"name": user.name, "link": external_url("accounts.confirm_email_change", token=token),
             "hours": current_app.config["EMAIL_CHANGE_HOURS"],
             "expires_at": now + tokens.email_change_lifetime()},
            user_id=user.id, now=now, dedupe_key=tokens.email_change_dedupe_key(nonce),
        )
    log.info("Email change link queued for user %s", user.id)
    return token


@dataclass(frozen=True)
class PendingEmailChange:
    user: User
    new_email: str


def _pending_change(token: str, now: datetime, *, lock: bool) -> PendingEmailChange:
    claim = tokens.read_email_change(token, now)
    user = _locked_user(claim.user_id) if lock else db.session.get(User, claim.user_id)
    if user is None or not user.active or not tokens.fingerprint_matches(user, claim.fingerprint):
        raise InvalidLink()
    new_email = db.session.scalar(
        select(Outbox.recipient).where(Outbox.dedupe_key == tokens.email_change_dedupe_key(claim.nonce),
                                       Outbox.kind == MessageKind.EMAIL_CHANGE, Outbox.user_id == user.id)
    )
    if new_email is None:
        raise InvalidLink()
    return PendingEmailChange(user, new_email)


def pending_email_change(token: str, *, now: datetime | None = None) -> PendingEmailChange:
    """The person and new address a confirmation link is for, while it still works."""
    return _pending_change(token, now or utcnow(), lock=False)


def confirm_email_change(token: str, *, now: datetime | None = None) -> PendingEmailChange:
    """Change the email address through a confirmation link and tell the old address."""
    now = now or utcnow()
    try:
        with write_transaction():
            change = _pending_change(token, now, lock=True)
            user, old_email = change.user, change.user.email
            _email_free(change.new_email, user)
            user.email = change.new_email
            db.session.flush()  # the unique index is the last word if someone took it meanwhile
            enqueue(
                MessageKind.EMAIL_CHANGED, old_email, "Your email address has been changed", "email_changed",
                {"name": user.name, "changed_at": now}, user_id=user.id, now=now,
            )
    except IntegrityError as exc:
        raise EmailTaken("An account already exists with that email address") from exc
    log.info("Email address changed through a link for user %s", user.id)
    return change


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
