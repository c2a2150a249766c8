"""People, their agencies and their roles."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import UTCDateTime, enum_type, utcnow
from ..extensions import db


class Sector(enum.StrEnum):
    CHILDRENS_SOCIAL_CARE = "childrens-social-care"
    EDUCATION = "education"
    EARLY_YEARS = "early-years"
    HEALTH = "health"
    POLICE = "police"
    PROBATION_JUSTICE = "probation-justice"
    HOUSING = "housing"
    VOLUNTARY_COMMUNITY = "voluntary-community"
    FAITH = "faith"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _SECTOR_LABELS[self]


_SECTOR_LABELS = {
    Sector.CHILDRENS_SOCIAL_CARE: "Children's social care",
    Sector.EDUCATION: "Education",
    Sector.EARLY_YEARS: "Early years",
    Sector.HEALTH: "Health",
    Sector.POLICE: "Police",
    Sector.PROBATION_JUSTICE: "Probation and justice",
    Sector.HOUSING: "Housing",
    Sector.VOLUNTARY_COMMUNITY: "Voluntary and community",
    Sector.FAITH: "Faith",
    Sector.OTHER: "Other",
}


class Role(enum.StrEnum):
    PROFESSIONAL = "professional"
    TRAINER = "trainer"
    COORDINATOR = "coordinator"
    AGENCY_LEAD = "agency-lead"  # completes their own agency's yearly compliance return
    SCRUTINEER = "scrutineer"  # the Independent Scrutineer: challenges the returns

    @property
    def label(self) -> str:
        return {"agency-lead": "Agency training lead", "scrutineer": "Independent Scrutineer"}.get(
            self.value, self.value.capitalize())


class Agency(db.Model):
    """A partner organisation whose staff attend training."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sector: Mapped[Sector] = mapped_column(enum_type(Sector, 40))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Agency {self.id}>"


class RoleGrant(db.Model):
    """A role held by a person; a person may hold several."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, 20))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class User(UserMixin, db.Model):
    """A person with an account: professional, trainer and/or coordinator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case so uniqueness and look-ups ignore case on both databases.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    job_title: Mapped[str] = mapped_column(String(200))
    manager_name: Mapped[str] = mapped_column(String(200))
    manager_email: Mapped[str] = mapped_column(String(254))
    consent_updates: Mapped[bool] = mapped_column(default=False)
    consent_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The secret in the person's calendar feed URL; None when they have no feed (or revoked it).
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    grants: Mapped[list[RoleGrant]] = relationship(
        foreign_keys=[RoleGrant.user_id], cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.id}>"

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot sign in
        return self.active

    @property
    def is_authenticated(self) -> bool:
        # Deactivating an account also ends the sessions it already has, not only new sign-ins.
        return bool(self.active)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles

    @property
    def is_trainer(self) -> bool:
        return Role.TRAINER in self.roles

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def grant(self, role: Role, by: User | None = None) -> bool:
        """Add a role; False when the person already holds it."""
        if role in self.roles:
            return False
        self.grants.append(RoleGrant(role=role, granted_by_id=by.id if by else None))
        return True

    def revoke(self, role: Role) -> bool:
        """Remove a role; False when the person did not hold it."""
        for g in list(self.grants):
            if g.role == role:
                self.grants.remove(g)
                return True
        return False


class ConsentSource(enum.StrEnum):
    REGISTRATION = "registration"
    ACCOUNT = "account"  # the person changed it on their account page
    UNSUBSCRIBE_LINK = "unsubscribe-link"
    COORDINATOR = "coordinator"

    @property
    def label(self) -> str:
        return {"registration": "Registration", "account": "Account settings",
                "unsubscribe-link": "Unsubscribe link in an email", "coordinator": "Coordinator"}[self.value]


class ConsentRecord(db.Model):
    """A dated change to someone's consent to receive safeguarding updates, and where it came from."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    consented: Mapped[bool]
    source: Mapped[ConsentSource] = mapped_column(enum_type(ConsentSource, 20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
